//! The parts of the Bot API `Update` object this adapter reads
//! (<https://core.telegram.org/bots/api#update>). Unknown fields are ignored, as the Bot API
//! adds fields over time.

use serde::Deserialize;

/// An incoming update.
#[derive(Debug, Deserialize)]
pub struct Update {
    /// The update's unique id; the idempotency key.
    pub update_id: i64,
    message: Option<Message>,
    edited_message: Option<Message>,
    channel_post: Option<Message>,
    edited_channel_post: Option<Message>,
    business_message: Option<Message>,
    edited_business_message: Option<Message>,
    /// A press of an inline keyboard's button (an answer to a survey).
    pub callback_query: Option<CallbackQuery>,
}

/// A button press (<https://core.telegram.org/bots/api#callbackquery>).
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    pub from: User,
    /// The message with the button, when it is not too old.
    pub message: Option<Message>,
    /// The button's `callback_data`.
    pub data: Option<String>,
}

impl Update {
    /// The message the update carries and whether it is an edit.
    pub fn message(&self) -> Option<(&Message, bool)> {
        let new = [&self.message, &self.business_message, &self.channel_post];
        let edits = [&self.edited_message, &self.edited_business_message, &self.edited_channel_post];
        new.into_iter()
            .flatten()
            .map(|m| (m, false))
            .chain(edits.into_iter().flatten().map(|m| (m, true)))
            .next()
    }
}

/// A message (<https://core.telegram.org/bots/api#message>).
#[derive(Debug, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub message_thread_id: Option<i64>,
    /// Set on messages a Telegram Business account received through the bot.
    pub business_connection_id: Option<String>,
    pub from: Option<User>,
    pub chat: Chat,
    /// Unix time in seconds.
    pub date: u64,
    pub edit_date: Option<u64>,
    pub text: Option<String>,
    pub caption: Option<String>,
    #[serde(default)]
    pub entities: Vec<MessageEntity>,
    #[serde(default)]
    pub caption_entities: Vec<MessageEntity>,
    pub photo: Option<Vec<PhotoSize>>,
    pub document: Option<File>,
    pub voice: Option<File>,
    pub audio: Option<File>,
    pub video: Option<File>,
    pub video_note: Option<File>,
    pub sticker: Option<File>,
    pub contact: Option<SharedContact>,
    pub location: Option<Location>,
    pub reply_to_message: Option<Box<Message>>,
}

impl Message {
    /// Hashtags Telegram marked in the text or caption (`#word`), as written.
    pub fn hashtags(&self, text: &str) -> Vec<String> {
        let entities = if self.text.is_some() { &self.entities } else { &self.caption_entities };
        // Entity offsets and lengths count UTF-16 code units.
        let units: Vec<u16> = text.encode_utf16().collect();
        entities
            .iter()
            .filter(|e| e.kind == "hashtag")
            .filter_map(|e| units.get(e.offset..e.offset.checked_add(e.length)?))
            .map(String::from_utf16_lossy)
            .collect()
    }
}

/// A Telegram user or bot.
#[derive(Debug, Deserialize)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

/// A chat.
#[derive(Debug, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: Option<String>,
}

/// A text entity (<https://core.telegram.org/bots/api#messageentity>).
#[derive(Debug, Deserialize)]
pub struct MessageEntity {
    #[serde(rename = "type")]
    pub kind: String,
    pub offset: usize,
    pub length: usize,
}

/// One size of a photo.
#[derive(Debug, Deserialize)]
pub struct PhotoSize {
    pub file_id: String,
    pub file_size: Option<u64>,
}

/// A document, voice note, audio, video or sticker: the fields they share.
#[derive(Debug, Deserialize)]
pub struct File {
    pub file_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// A shared phone contact.
#[derive(Debug, Deserialize)]
pub struct SharedContact {
    pub phone_number: String,
    pub user_id: Option<i64>,
}

/// A shared location.
#[derive(Debug, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}
