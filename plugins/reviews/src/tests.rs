use super::*;
use clienthub_sdk::testing::follow_ups;
use clienthub_sdk::testing::{Harness, post};

const CONFIG: &str = r#"{"api_key":"reviews-key-0123456789","places":{
    "locations/4567890123456789012":{"store":"101","name":"Тверская"},
    "70000001012345678":{"store":"112"},
    "1124715036":{"region":"msk"}}}"#;

fn handle(platform: &str, body: &[u8]) -> Result<AdapterOutput, AdapterError> {
    let request =
        post(&format!("/hooks/reviews/{platform}"), &[("x-api-key", "reviews-key-0123456789")], body);
    Harness::new().with_config(CONFIG).run(|| Reviews::handle(request))
}

#[test]
fn a_google_review_object_carries_rating_author_and_the_mapped_store() {
    let [m] = <[_; 1]>::try_from(follow_ups(
        handle("google", include_bytes!("../fixtures/google_review.json")).unwrap(),
    ))
    .unwrap();
    assert_eq!(m.conversation_key, "review:google:AbFvOqnQ8Kd2");
    assert_eq!(m.text, "★★☆☆☆ 2/5: Долго ждала выдачи заказа, на кассе один сотрудник");
    assert_eq!(m.contact.name.as_deref(), Some("Irina Volkova"));
    assert_eq!(m.meta("rating"), Some("2"));
    assert_eq!(m.meta("store"), Some("101"));
    assert_eq!(m.meta("place_name"), Some("Тверская"));
    assert_eq!(m.sent_at, Some(1_795_425_235_120));
}

#[test]
fn a_pubsub_notification_names_the_review_and_its_place() {
    let [m] = <[_; 1]>::try_from(follow_ups(
        handle("google", include_bytes!("../fixtures/google_pubsub_new_review.json")).unwrap(),
    ))
    .unwrap();
    assert_eq!(m.conversation_key, "review:google:AbFvOqnQ8Kd2", "the same review as the object fixture");
    assert_eq!(
        m.meta("review_name"),
        Some("accounts/109876543210/locations/4567890123456789012/reviews/AbFvOqnQ8Kd2")
    );
    assert_eq!(m.meta("store"), Some("101"));
}

#[test]
fn a_2gis_page_gives_one_appeal_per_review_with_photos() {
    let all = follow_ups(handle("2gis", include_bytes!("../fixtures/2gis_reviews.json")).unwrap());
    assert_eq!(all.len(), 2);
    assert!(all[0].text.starts_with("★☆☆☆☆ 1/5: Купил чайник"));
    assert_eq!(all[0].meta("store"), Some("112"));
    assert_eq!(all[0].attachments.len(), 1);
    assert_eq!(all[0].contact.name.as_deref(), Some("Ринат"));
    assert_eq!(
        all[0].meta("review_url"),
        Some("https://2gis.ru/kazan/firm/70000001012345678/tab/reviews/review/152733190")
    );
    assert_ne!(all[0].platform_id, all[1].platform_id);
}

#[test]
fn a_yandex_review_in_clienthub_format_maps_to_its_region() {
    let [m] = <[_; 1]>::try_from(follow_ups(
        handle("yandex", include_bytes!("../fixtures/yandex_review.json")).unwrap(),
    ))
    .unwrap();
    assert_eq!(m.meta("region"), Some("msk"));
    assert_eq!(m.meta("rating"), Some("3"));
    assert_eq!(m.subject.as_deref(), Some("Review on Yandex Maps"));
}

#[test]
fn a_wrong_key_an_unknown_platform_and_garbage_are_refused() {
    let forged = post("/hooks/reviews/google", &[("x-api-key", "nope")], b"{}");
    assert!(matches!(
        Harness::new().with_config(CONFIG).run(|| Reviews::handle(forged)),
        Err(AdapterError::Unauthorized(_))
    ));
    assert!(matches!(handle("tripadvisor", b"{}"), Err(AdapterError::Malformed(_))));
    assert!(matches!(handle("2gis", b"[{\"text\":\"no id\"}]"), Err(AdapterError::Malformed(_))));
}

#[test]
fn google_reviews_are_answered_with_update_reply_and_others_explain_why_not() {
    let [m] = <[_; 1]>::try_from(follow_ups(
        handle("google", include_bytes!("../fixtures/google_review.json")).unwrap(),
    ))
    .unwrap();
    let mut appeal = clienthub_sdk::testing::appeal("reviews", &m.text);
    appeal.metadata = m.metadata.clone();
    let call = Harness::new()
        .with_config(r#"{"google_access_token":"ya29.token"}"#)
        .run(|| Reviews::render_reply(appeal, clienthub_sdk::testing::reply("Спасибо, разберёмся")))
        .unwrap();
    assert_eq!(call.method, "PUT");
    assert_eq!(
        call.url,
        "https://mybusiness.googleapis.com/v4/accounts/109876543210/locations/4567890123456789012/reviews/AbFvOqnQ8Kd2/reply"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&call.body).unwrap(),
        serde_json::json!({"comment": "Спасибо, разберёмся"})
    );
    let two_gis =
        follow_ups(handle("2gis", include_bytes!("../fixtures/2gis_reviews.json")).unwrap()).remove(0);
    let mut appeal = clienthub_sdk::testing::appeal("reviews", &two_gis.text);
    appeal.metadata = two_gis.metadata;
    let error =
        Harness::new().run(|| Reviews::render_reply(appeal, clienthub_sdk::testing::reply("x"))).unwrap_err();
    assert!(error.contains("2gis offers no API"), "{error}");
}
