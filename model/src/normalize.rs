//! Normalisation before filters run: phone numbers to E.164 (with the `phonenumber` crate,
//! a port of Google's libphonenumber), e-mails trimmed and lower-cased.

use crate::appeal::Contact;
use phonenumber::{Mode, country};

/// The region a phone number without a country code is read in.
const DEFAULT_REGION: country::Id = country::Id::RU;

/// Normalises a contact in place.
pub fn contact(contact: &mut Contact) {
    if let Some(phone) = contact.phone.as_mut()
        && let Some(e164) = phone_e164(phone)
    {
        *phone = e164;
    }
    if let Some(email) = contact.email.as_mut() {
        *email = email.trim().to_lowercase();
    }
    for field in [&mut contact.name, &mut contact.phone, &mut contact.email] {
        if field.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *field = None;
        }
    }
}

/// The number in E.164 (`+79161234567`), or `None` when it is not a valid number.
pub fn phone_e164(text: &str) -> Option<String> {
    let number = phonenumber::parse(Some(DEFAULT_REGION), text.trim()).ok()?;
    phonenumber::is_valid(&number).then(|| number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_formats_become_e164() {
        assert_eq!(phone_e164("+7 (916) 123-45-67").as_deref(), Some("+79161234567"));
        assert_eq!(phone_e164("8 916 123 45 67").as_deref(), Some("+79161234567"));
        assert_eq!(phone_e164("+44 20 7946 0958").as_deref(), Some("+442079460958"));
        assert_eq!(phone_e164("12"), None);
    }

    #[test]
    fn contact_is_cleaned() {
        let mut c = Contact {
            name: Some(" ".into()),
            phone: Some("not a phone".into()),
            email: Some(" Ivan@Example.COM ".into()),
            platform_user_id: None,
        };
        contact(&mut c);
        assert_eq!(c.email.as_deref(), Some("ivan@example.com"));
        assert_eq!(c.phone.as_deref(), Some("not a phone"), "kept as received when it does not parse");
        assert_eq!(c.name, None);
    }
}
