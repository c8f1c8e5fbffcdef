//! The `compliance` chains of references/chains-compliance.md, each a function run against the
//! embedded emulator by `cargo test -p bitrix24-examples --test chains_compliance`.

use bitrix24::packs::compliance::{
    SignB2eMysafeTail, SignB2ePersonalTail, UserconsentAgreementList, UserconsentAgreementText,
    UserconsentConsentAdd,
};
use bitrix24::{Client, Error};
use bitrix24_examples::{app_client, webhook_portal as portal};
use serde_json::{Value, json};

/// Chain 1, consent capture: the active agreement, its text shown to the visitor, then the
/// consent recorded with the visitor's IP and the page. Returns the consent id.
async fn consent_capture(client: &Client, ip: &str, page: &str) -> Result<u64, Error> {
    // 1. userconsent.agreement.list: the first active agreement
    let agreements = client.send(&UserconsentAgreementList::new()).await?;
    let active = agreements
        .as_array()
        .and_then(|a| a.iter().find(|x| x["ACTIVE"] == "Y"))
        .and_then(|a| a["ID"].as_str()?.parse::<u64>().ok())
        .unwrap_or_default();
    // 2. userconsent.agreement.text: the label and text to show, company name filled in
    let shown = client
        .send(&UserconsentAgreementText::new(active).replace(json!({ "company_name": "Acme" })))
        .await?;
    assert!(shown["LABEL"].is_string() && shown["TEXT"].is_string());
    // 3. userconsent.consent.add: who agreed, from where
    let consent = UserconsentConsentAdd::new(active, ip)
        .url(page)
        .origin_id("landing-form");
    client.send(&consent).await
}

/// Chain 2, signed documents tail monitor (an application: a webhook gets
/// `WRONG_AUTH_TYPE`): the user's and the safe's newest signed documents, pages of `limit`
/// from a stored checkpoint. Returns the ids new since `seen` (the checkpoint to persist
/// is their maximum).
async fn signed_documents_monitor(client: &Client, seen: i64) -> Result<Vec<i64>, Error> {
    let newer = |docs: &Value| -> Vec<i64> {
        let ids = docs.as_array().into_iter().flatten();
        ids.filter_map(|d| d["id"].as_i64())
            .filter(|id| *id > seen)
            .collect()
    };
    // 1. sign.b2e.personal.tail: the caller's own documents, newest first
    let mine = client
        .send(&SignB2ePersonalTail::new().limit(50).offset(0))
        .await?;
    // 2. sign.b2e.mysafe.tail: the company's safe
    let safe = client
        .send(&SignB2eMysafeTail::new().limit(50).offset(0))
        .await?;
    // 3. what is new since the checkpoint, to persist before the next poll
    let mut ids = newer(&mine);
    ids.extend(newer(&safe));
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[tokio::test]
async fn chain_1_consent_capture() {
    let (emu, client) = portal().await;
    emu.control().seed_records(
        "userconsent.agreement",
        &[json!({
            "NAME": "Personal data", "ACTIVE": "Y", "LANGUAGE_ID": "en",
            "LABEL": "I agree to the terms of #COMPANY_NAME#", "TEXT": "#COMPANY_NAME# keeps your data.",
        })],
    );
    let id = consent_capture(&client, "203.0.113.7", "https://example.com/form")
        .await
        .unwrap();
    assert!(id > 0);
    // A bad IP is refused, nothing is recorded.
    let e = consent_capture(&client, "not-an-ip", "https://example.com/form")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("IP"), "{e}");
    assert_eq!(emu.control().method_calls("userconsent.consent.add"), 2);
}

#[tokio::test]
async fn chain_2_signed_documents_tail_monitor() {
    let (emu, webhook) = portal().await;
    let app = app_client(&emu).unwrap();
    let doc = |title: &str, member: u64| {
        json!({
            "title": title, "create_date": "2024-06-28T18:37:37+02:00",
            "signed_date": "2024-06-28T19:34:58+02:00", "creator_id": 1,
            "member_id": member, "role": "signer",
        })
    };
    let ids = emu
        .control()
        .seed_records("sign.b2e.document", &[doc("Contract", 1), doc("NDA", 2)]);
    let first = signed_documents_monitor(&app, 0).await.unwrap();
    assert_eq!(first, ids, "both: one of mine, both in the safe");
    let checkpoint = *first.iter().max().unwrap();
    assert!(
        signed_documents_monitor(&app, checkpoint)
            .await
            .unwrap()
            .is_empty()
    );
    let e = signed_documents_monitor(&webhook, 0).await.unwrap_err();
    bitrix24_examples::assert_code(&e, "WRONG_AUTH_TYPE");
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-compliance.md"),
        include_str!("compliance.rs"),
        2,
    );
}
