//! Bitrix24 Open Lines (`imconnector`): ClientHub as a connector Bitrix24 staff switch on in an
//! Open Line, so they answer customers from the Open Lines chat. The `imconnector` methods work
//! only for an application, so this part calls the portal's REST with the local application's
//! OAuth token (`auth`), refreshed at `oauth.bitrix.info` with its refresh token and kept in
//! the connector's key-value store.
//!
//! - **Setup**, once per connector and line: `imconnector.register`, `imconnector.activate`,
//!   `event.bind` of `OnImConnectorMessageAdd` to ClientHub's webhook.
//! - **In**: each customer message of an appeal goes into the line with
//!   `imconnector.send.messages` — one Open Lines chat per appeal (`chat.id` = the appeal id).
//! - **Out**: `ONIMCONNECTORMESSAGEADD` (verified by `auth[application_token]`) becomes a reply
//!   with the origin `openlines:<line>:<chat id>:<message id>:<appeal>`; BB-code becomes plain
//!   text any channel shows. Once the reply has left, `imconnector.send.status.delivery`
//!   confirms it in the line.

use super::Config;
use super::rest::read;
use clienthub_sdk::{Appeal, CrmError, CrmReply, OutboundRequest, RetryLater};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The Open Lines settings.
#[derive(Debug, Deserialize)]
pub struct OpenLines {
    /// The Open Line's id (`LINE`).
    line: u32,
    /// The connector's id in Bitrix24 (default `clienthub`).
    #[serde(default)]
    connector: Option<String>,
    /// The local application's `client_id` and `client_secret`.
    client_id: String,
    client_secret: String,
    /// The application's refresh token as the installation gave it.
    refresh_token: String,
    /// Where ClientHub takes Bitrix24's events: `https://<host>/hooks/bitrix24`.
    event_handler: String,
    /// The OAuth server (default `https://oauth.bitrix.info/oauth/token/`).
    #[serde(default)]
    oauth_url: Option<String>,
}

impl OpenLines {
    fn connector(&self) -> &str {
        self.connector.as_deref().unwrap_or("clienthub")
    }
}

/// The application's tokens, kept in the connector's key-value store.
#[derive(Debug, Serialize, Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: String,
    /// ms since the epoch.
    expires_at: u64,
}

const TOKENS_KEY: &str = "openlines:tokens";

/// The portal's REST base for application calls (`https://shop.bitrix24.ru/rest/`).
fn rest_base(config: &Config) -> Result<String, CrmError> {
    let webhook = super::webhook(config)?;
    Ok(format!("{}/rest/", webhook.split("/rest/").next().unwrap_or(webhook)))
}

/// A valid access token: the kept one, or a fresh one from the OAuth server.
fn access_token(lines: &OpenLines) -> Result<String, CrmError> {
    let now = clienthub_sdk::clock::now_ms();
    let kept: Option<Tokens> =
        clienthub_sdk::kv::get(TOKENS_KEY).ok().flatten().and_then(|v| serde_json::from_slice(&v).ok());
    if let Some(tokens) = &kept
        && tokens.expires_at > now + 60_000
    {
        return Ok(tokens.access_token.clone());
    }
    let refresh = kept.map_or_else(|| lines.refresh_token.clone(), |t| t.refresh_token);
    let oauth = lines.oauth_url.as_deref().unwrap_or("https://oauth.bitrix.info/oauth/token/");
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("client_id", &lines.client_id)
        .append_pair("client_secret", &lines.client_secret)
        .append_pair("refresh_token", &refresh)
        .finish();
    let answer = clienthub_sdk::http::send(&OutboundRequest::get(format!("{oauth}?{query}")))
        .map_err(|e| CrmError::Retry(RetryLater { after_ms: None, error: format!("OAuth: {e}") }))?;
    let body = answer.body_json().unwrap_or_default();
    let (Some(access), Some(refresh)) = (body["access_token"].as_str(), body["refresh_token"].as_str())
    else {
        return Err(CrmError::Failed(format!(
            "Bitrix24 OAuth refused the refresh token: HTTP {} {}",
            answer.status,
            body["error"].as_str().unwrap_or("")
        )));
    };
    let tokens = Tokens {
        access_token: access.to_string(),
        refresh_token: refresh.to_string(),
        expires_at: now + body["expires_in"].as_u64().unwrap_or(3600) * 1000,
    };
    let _ = clienthub_sdk::kv::set(TOKENS_KEY, &serde_json::to_vec(&tokens).unwrap_or_default());
    Ok(tokens.access_token)
}

/// An application call: `params` with the access token as `auth`.
fn app_call(config: &Config, lines: &OpenLines, method: &str, params: Value) -> Result<Value, CrmError> {
    let mut params = params;
    params["auth"] = json!(access_token(lines)?);
    let url = format!("{}{method}.json", rest_base(config)?);
    let answer = clienthub_sdk::http::send(&OutboundRequest::post_json(url, &params))
        .map_err(|e| CrmError::Retry(RetryLater { after_ms: None, error: format!("{method}: {e}") }))?;
    if answer.status == 401 {
        // Revoked or expired early: the next call asks for a new one.
        let _ = clienthub_sdk::kv::delete(TOKENS_KEY);
    }
    read(method, &answer)
}

/// Registers and activates the connector in the line and subscribes to operators' messages,
/// once (remembered per connector and line).
fn set_up(config: &Config, lines: &OpenLines) -> Result<(), CrmError> {
    let done = format!("openlines:ready:{}:{}", lines.connector(), lines.line);
    if clienthub_sdk::kv::get(&done).ok().flatten().is_some() {
        return Ok(());
    }
    let icon = "data:image/svg+xml;charset=US-ASCII,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%20viewBox%3D%220%200%2070%2071%22%3E%3Ccircle%20cx%3D%2235%22%20cy%3D%2235%22%20r%3D%2230%22%20fill%3D%22%23fff%22%2F%3E%3C%2Fsvg%3E";
    app_call(
        config,
        lines,
        "imconnector.register",
        json!({
            "ID": lines.connector(), "NAME": "ClientHub",
            "ICON": { "DATA_IMAGE": icon, "COLOR": "#1f6feb", "SIZE": "90%", "POSITION": "center" },
            "PLACEMENT_HANDLER": lines.event_handler,
        }),
    )?;
    app_call(
        config,
        lines,
        "imconnector.activate",
        json!({ "CONNECTOR": lines.connector(), "LINE": lines.line, "ACTIVE": 1 }),
    )?;
    app_call(
        config,
        lines,
        "event.bind",
        json!({ "event": "OnImConnectorMessageAdd", "handler": lines.event_handler }),
    )?;
    let _ = clienthub_sdk::kv::set(&done, b"1");
    Ok(())
}

/// Puts a customer's message of `appeal` into the line (`id`: the message's stable id).
pub fn push(config: &Config, appeal: &Appeal, id: &str, text: &str) -> Result<(), CrmError> {
    let Some(lines) = &config.open_lines else { return Ok(()) };
    set_up(config, lines)?;
    let user_id = appeal.contact.platform_user_id.clone().unwrap_or_else(|| appeal.id.clone());
    let mut user = json!({ "id": format!("{}:{user_id}", appeal.channel) });
    if let Some(name) = &appeal.contact.name {
        user["name"] = json!(name);
    }
    if let Some(phone) = &appeal.contact.phone {
        user["phone"] = json!(phone);
    }
    if let Some(email) = &appeal.contact.email {
        user["email"] = json!(email);
    }
    let message = json!({
        "user": user,
        "message": { "id": id, "date": clienthub_sdk::clock::now_ms() / 1000, "text": text },
        "chat": { "id": appeal.id, "name": format!("{} · {}", appeal.channel, appeal.contact.name.as_deref().unwrap_or("клиент")) },
    });
    let params = json!({ "CONNECTOR": lines.connector(), "LINE": lines.line, "MESSAGES": [message] });
    app_call(config, lines, "imconnector.send.messages", params).map(drop)
}

/// Confirms in the line that the reply written at `origin` reached the customer.
pub fn delivered(config: &Config, origin: &str) -> Result<(), CrmError> {
    let Some(lines) = &config.open_lines else { return Ok(()) };
    let parts: Vec<&str> = origin.splitn(5, ':').collect();
    let ["openlines", line, chat, message, external] = parts[..] else { return Ok(()) };
    let params = json!({
        "CONNECTOR": lines.connector(), "LINE": line.parse::<u64>().unwrap_or(0),
        "MESSAGES": [{
            "im": { "chat_id": chat.parse::<u64>().unwrap_or(0), "message_id": message.parse::<u64>().unwrap_or(0) },
            "message": { "id": [origin], "date": clienthub_sdk::clock::now_ms() / 1000 },
            "chat": { "id": external },
        }],
    });
    app_call(config, lines, "imconnector.send.status.delivery", params).map(drop)
}

/// The replies in an `ONIMCONNECTORMESSAGEADD` event's form (`data[MESSAGES][n][…]`) for this
/// connector.
pub fn replies(config: &Config, field: &dyn Fn(&str) -> Option<String>) -> Vec<CrmReply> {
    let Some(lines) = &config.open_lines else { return Vec::new() };
    if field("data[CONNECTOR]").as_deref() != Some(lines.connector()) {
        return Vec::new();
    }
    let line = field("data[LINE]").unwrap_or_default();
    (0..)
        .map_while(|n| {
            let at = |path: &str| field(&format!("data[MESSAGES][{n}]{path}"));
            let chat = at("[im][chat_id]")?;
            Some((
                at("[im][message_id]"),
                chat,
                at("[message][text]"),
                at("[message][user_id]"),
                at("[chat][id]"),
            ))
        })
        .filter_map(|(message, chat, text, user, appeal)| {
            let (message, appeal) = (message?, appeal?);
            Some(CrmReply {
                text: plain_text(&text.unwrap_or_default()),
                author: user.map(|u| format!("Bitrix24 user {u}")),
                origin: Some(format!("openlines:{line}:{chat}:{message}:{appeal}")),
                appeal_id: appeal,
            })
        })
        .filter(|reply| !reply.text.is_empty())
        .collect()
}

/// Bitrix24 chat BB-code as plain text: `[b]…[/b]` and the like dropped, `[br]` a line
/// break, `[url=X]Y[/url]` as `Y (X)`, `[USER=27]Name[/USER]` as the name.
pub fn plain_text(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut link: Option<String> = None;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find(']') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        let name = tag.split('=').next().unwrap_or("").to_ascii_lowercase();
        match name.as_str() {
            "br" => out.push('\n'),
            "url" => link = tag.split_once('=').map(|(_, url)| url.to_string()),
            "/url" => {
                if let Some(url) = link.take() {
                    out.push_str(&format!(" ({url})"));
                }
            }
            "b" | "/b" | "i" | "/i" | "u" | "/u" | "s" | "/s" | "user" | "/user" | "quote" | "/quote"
            | "code" | "/code" | "color" | "/color" | "size" | "/size" => {}
            // Not a tag Bitrix24 writes: the text as it was.
            _ => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.lines().map(str::trim).collect::<Vec<_>>().join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::plain_text;

    #[test]
    fn bb_code_becomes_plain_text() {
        assert_eq!(plain_text("[b]Ольга Петрова:[/b] [br]Здравствуйте!"), "Ольга Петрова:\nЗдравствуйте!");
        assert_eq!(
            plain_text("Условия [url=https://shop.ru/return]здесь[/url], [i]спасибо[/i]"),
            "Условия здесь (https://shop.ru/return), спасибо"
        );
        assert_eq!(plain_text("[USER=27]Иван[/USER], 2 < 3 [x]"), "Иван, 2 < 3 [x]");
    }
}
