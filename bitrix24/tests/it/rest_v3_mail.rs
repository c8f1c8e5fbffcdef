//! REST 3.0 mail (`mail.*`, issue 15) through the typed calls against the emulator: mailboxes,
//! e-mails and the address book loaded with `seed_records` (the portal fills them from the
//! mail servers), e-mails listed, read, sent, answered in their thread and moved, what is made
//! from an e-mail, recipients, field descriptions, and the documented validation errors.

use futures::TryStreamExt;
use serde_json::{Value, json};

use bitrix24::packs::comms::{
    MailFolderAction, MailMailboxFieldGet, MailMailboxFieldList, MailMailboxGet, MailMailboxList,
    MailMailboxSenders, MailMessage, MailMessageCreatecalendarevent, MailMessageCreatechat,
    MailMessageCreatecrmactivity, MailMessageCreatefeedpost, MailMessageCreatetask,
    MailMessageFieldGet, MailMessageFieldList, MailMessageForward, MailMessageGet, MailMessageList,
    MailMessageMovetofolder, MailMessageRemovecrmactivity, MailMessageReply, MailMessageSend,
    MailMessageThread, MailRecipientFieldGet, MailRecipientFieldList, MailRecipientListcontacts,
    MailRecipientListemployees,
};
use bitrix24::{ApiVersion, Client, Error};
use bitrix24_emulator::RunningEmulator;

use crate::support::{hook_client, portal};

fn ids(v: Vec<i64>) -> Vec<u64> {
    v.into_iter().map(|id| u64::try_from(id).unwrap()).collect()
}

fn message(mailbox: u64, subject: &str, date: &str, seen: bool) -> Value {
    json!({
        "mailboxId": mailbox, "mailboxEmail": "user@example.com", "subject": subject,
        "from": "client@example.com", "to": "user@example.com", "cc": "", "date": date,
        "isSeen": seen, "hasAttachments": !seen, "url": "/mail/message/", "bindings": [],
        "body": format!("{subject} text"),
    })
}

/// Two mailboxes, three e-mails of the first (one answering another) and one contact;
/// answers the mailbox ids and the e-mail ids.
fn mail(emu: &RunningEmulator) -> (Vec<u64>, Vec<u64>) {
    let boxes = [
        json!({"name": "Work email", "email": "user@example.com", "senderName": "John Smith"}),
        json!({"name": "Sales", "email": "sales@example.com", "senderName": "Sales team"}),
    ];
    let boxes = ids(emu.control().seed_records("mail.mailbox", &boxes));
    let first = [
        message(boxes[0], "Contract", "2026-05-25T10:00:00+03:00", false),
        message(boxes[0], "Invoice", "2026-05-26T10:00:00+03:00", true),
    ];
    let mut mails = ids(emu.control().seed_records("mail.message", &first));
    let mut answer = message(boxes[0], "Re: Contract", "2026-05-27T10:00:00+03:00", true);
    answer["threadId"] = json!(mails[0]);
    mails.extend(ids(emu.control().seed_records("mail.message", &[answer])));
    let contact = json!({"email": "client@example.com", "name": "Client"});
    emu.control().seed_records("mail.recipient", &[contact]);
    (boxes, mails)
}

fn code(e: &Error) -> Option<String> {
    e.code().map(|c| c.as_str().to_owned())
}

async fn subjects(c: &Client, list: &MailMessageList) -> Vec<String> {
    let rows: Vec<MailMessage> = c.stream(list).try_collect().await.unwrap();
    rows.into_iter().filter_map(|m| m.subject).collect()
}

#[tokio::test]
async fn mailboxes_and_e_mails_read_send_and_move_typed() {
    let emu = portal().await;
    let (boxes, mails) = mail(&emu);
    let c = hook_client(&emu.webhook_url());

    let all = c.send(&MailMailboxList::new()).await.unwrap().items;
    assert_eq!(all.len(), 2);
    let sales = c
        .send(&MailMailboxList::new().email("SALES"))
        .await
        .unwrap()
        .items;
    assert_eq!(
        sales.iter().map(|b| b.id).collect::<Vec<_>>(),
        [Some(boxes[1])]
    );
    let work = c.send(&MailMailboxGet::new(boxes[0])).await.unwrap().item;
    assert_eq!(work.sender_name.as_deref(), Some("John Smith"));
    let senders = c.send(&MailMailboxSenders::new()).await.unwrap().items;
    let lines: Vec<_> = senders.iter().filter_map(|s| s.sender.as_deref()).collect();
    assert_eq!(
        lines,
        [
            "John Smith <user@example.com>",
            "Work email <user@example.com>",
            "Sales team <sales@example.com>",
            "Sales <sales@example.com>"
        ]
    );

    let inbox = MailMessageList::new()
        .mailbox_id(boxes[0])
        .pagination(json!({"limit": 2}));
    assert_eq!(
        subjects(&c, &inbox).await,
        ["Contract", "Invoice", "Re: Contract"],
        "two pages"
    );
    let unread = MailMessageList::new().is_seen(false);
    assert_eq!(subjects(&c, &unread).await, ["Contract"]);
    let found = MailMessageList::new().search_query("invoice");
    assert_eq!(subjects(&c, &found).await, ["Invoice"]);
    let period = MailMessageList::new()
        .date_from("2026-05-26T00:00:00+03:00")
        .date_to("2026-05-26T23:59:59+03:00");
    assert_eq!(subjects(&c, &period).await, ["Invoice"]);
    let one = c
        .send(&MailMessageGet::new(mails[0]).select(["id", "subject"]))
        .await
        .unwrap()
        .item;
    assert_eq!((one.subject.as_deref(), one.body), (Some("Contract"), None));
    let full = c.send(&MailMessageGet::new(mails[0])).await.unwrap().item;
    assert!(full.date.is_some() && full.has_attachments == Some(true));

    let sent = c
        .send(&MailMessageSend::new(
            "user@example.com",
            ["client@example.com"],
            "Offer",
            "Our offer",
        ))
        .await
        .unwrap();
    assert_eq!(sent.to, Some(vec!["client@example.com".to_owned()]));
    let outbox = MailMessageList::new().folder("Sent");
    assert_eq!(subjects(&c, &outbox).await, ["Offer"]);
    c.send(&MailMessageReply::new(
        mails[0],
        "John Smith <user@example.com>",
        ["client@example.com"],
        "Re: Contract",
        "Signed",
    ))
    .await
    .unwrap();
    c.send(&MailMessageForward::new(
        mails[1],
        "sales@example.com",
        ["boss@example.com"],
        "Fwd: Invoice",
        "FYI",
    ))
    .await
    .unwrap();
    let thread = c
        .send(&MailMessageThread::new(mails[2]).limit(10))
        .await
        .unwrap();
    let bodies: Vec<_> = thread.iter().filter_map(|m| m.body.as_deref()).collect();
    assert_eq!(bodies[..2], ["Contract text", "Re: Contract text"]);
    assert_eq!(bodies.len(), 3, "the reply joined the thread: {bodies:?}");
    assert_eq!(thread[0].date.as_deref(), Some("2026-05-25 10:00:00"));

    let moved = c
        .send(&MailMessageMovetofolder::new(
            [mails[1]],
            MailFolderAction::Spam,
        ))
        .await
        .unwrap();
    assert_eq!(
        (moved.moved_count, moved.action),
        (Some(1), Some(MailFolderAction::Spam))
    );
    assert_eq!(
        subjects(&c, &MailMessageList::new().folder("Spam")).await,
        ["Invoice"]
    );
    let mixed = c
        .send(&MailMessageMovetofolder::new(
            [mails[0], mails[1]],
            MailFolderAction::Trash,
        ))
        .await
        .unwrap_err();
    assert!(
        mixed
            .to_string()
            .contains("Select emails from a single folder"),
        "{mixed}"
    );
}

#[tokio::test]
async fn what_is_made_from_an_e_mail_and_who_can_get_one() {
    let emu = portal().await;
    let (_, mails) = mail(&emu);
    let c = hook_client(&emu.webhook_url());

    let chat = c.send(&MailMessageCreatechat::new(mails[0])).await.unwrap();
    let again = c.send(&MailMessageCreatechat::new(mails[0])).await.unwrap();
    assert_eq!((chat.existing, again.existing), (Some(false), Some(true)));
    assert_eq!(chat.chat_id, again.chat_id, "one chat per e-mail");
    let other = c.send(&MailMessageCreatechat::new(mails[1])).await.unwrap();
    assert_ne!(other.chat_id, chat.chat_id);
    let task = c
        .send(&MailMessageCreatetask::new(mails[0]).title("Answer the client"))
        .await
        .unwrap();
    assert_eq!(
        (task.success, task.message_id),
        (Some(true), Some(mails[0]))
    );
    let post = c
        .send(&MailMessageCreatefeedpost::new(mails[0]))
        .await
        .unwrap();
    assert!(post.post_id.is_some());
    let event = c
        .send(&MailMessageCreatecalendarevent::new(
            mails[0],
            "2026-04-15 10:00:00",
            "2026-04-15 11:00:00",
        ))
        .await
        .unwrap();
    assert!(event.event_id.is_some());
    assert!(
        c.send(&MailMessageCreatecrmactivity::new(mails[0]))
            .await
            .unwrap()
    );
    assert!(
        c.send(&MailMessageRemovecrmactivity::new(mails[0]))
            .await
            .unwrap()
    );

    let contacts = c
        .send(&MailRecipientListcontacts::new().query("client"))
        .await
        .unwrap()
        .items;
    assert_eq!(contacts[0].email.as_deref(), Some("client@example.com"));
    let staff = c
        .send(&MailRecipientListemployees::new("smith"))
        .await
        .unwrap()
        .items;
    let who: Vec<_> = staff.iter().filter_map(|r| r.email.as_deref()).collect();
    assert_eq!(who, ["admin@example.com"]);

    let fields = sent!(c, MailMessageFieldList::new()).items;
    assert_eq!(fields.len(), 13);
    let seen = sent!(c, MailMessageFieldGet::new("isSeen")).item;
    assert_eq!(seen.r#type.as_deref(), Some("bool"));
    assert_eq!(sent!(c, MailMailboxFieldList::new()).items.len(), 4);
    let email = sent!(c, MailMailboxFieldGet::new("email")).item;
    assert_eq!(email.title.as_deref(), Some("email"));
    assert_eq!(sent!(c, MailRecipientFieldList::new()).items.len(), 3);
    let name = sent!(c, MailRecipientFieldGet::new("name")).item;
    assert_eq!(name.r#type.as_deref(), Some("string"));
}

#[tokio::test]
async fn bad_mail_input_gets_the_documented_errors() {
    let emu = portal().await;
    let (_, mails) = mail(&emu);
    let c = hook_client(&emu.webhook_url());
    let validation = Some("BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION");

    let no_subject = c
        .with_api_version(ApiVersion::V3)
        .call(
            "mail.message.send",
            json!({"from": "user@example.com", "to": ["a@example.com"], "body": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&no_subject).as_deref(), validation);
    assert!(
        no_subject
            .to_string()
            .contains("[subject: Required field `subject` is not specified]"),
        "{no_subject}"
    );
    let nobody = c
        .send(&MailMessageSend::new(
            "user@example.com",
            std::iter::empty::<String>(),
            "s",
            "b",
        ))
        .await
        .unwrap_err();
    assert!(nobody.to_string().contains("NO_RECIPIENTS"), "{nobody}");
    let stranger = c
        .send(&MailMessageSend::new(
            "x@elsewhere.com",
            ["a@example.com"],
            "s",
            "b",
        ))
        .await
        .unwrap_err();
    assert!(
        stranger.to_string().contains("MESSAGE_SEND_FAILED"),
        "{stranger}"
    );
    let day = c
        .send(&MailMessageList::new().date_from("2026-01-01"))
        .await
        .unwrap_err();
    assert!(day.to_string().contains("ISO 8601"), "{day}");
    let where_to = c
        .send(&MailMessageMovetofolder::new(
            [mails[0]],
            MailFolderAction::MoveToFolder,
        ))
        .await
        .unwrap_err();
    assert!(where_to.to_string().contains("`action=move`"), "{where_to}");
    let when = c
        .send(&MailMessageCreatecalendarevent::new(
            mails[0],
            "tomorrow",
            "2026-04-15 11:00:00",
        ))
        .await
        .unwrap_err();
    assert!(when.to_string().contains("Invalid date format"), "{when}");
    let gone = c
        .send(&MailMessageCreatetask::new(999_999))
        .await
        .unwrap_err();
    assert_eq!(code(&gone).as_deref(), validation);
    let missing = c.send(&MailMailboxGet::new(999_999)).await.unwrap_err();
    assert_eq!(
        code(&missing).as_deref(),
        Some("BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION")
    );
}
