//! The `services` chains of references/chains-services.md, each a function run against the
//! embedded emulator by `cargo test -p bitrix24-examples --test chains_services`.

use bitrix24::packs::services::{
    Booking, BookingPeriod, BookingResource, BookingResourceType, BookingTime, BookingV1BookingAdd,
    BookingV1BookingGet, BookingV1BookingUpdate, BookingV1ResourceAdd, BookingV1ResourceList,
    BookingV1ResourceTypeAdd, CalendarEvent, CalendarEventAdd, CalendarEventGetbyid,
    CalendarEventUpdate, CalendarSectionAdd, CalendarSectionGet, TimemanClose, TimemanDay,
    TimemanOpen, TimemanStatus,
};
use bitrix24::{Client, Error};
use bitrix24_examples::webhook_portal as portal;
use serde_json::json;

/// Chain 1, booking lifecycle: a resource of the type, a booking of it, then the booking
/// moved by an hour. Returns the booking id.
async fn booking_lifecycle(client: &Client, type_id: i64, from: i64) -> Result<u64, Error> {
    // 1. booking.v1.resource.list: the resources of that type
    let listed = client
        .send(&BookingV1ResourceList::new().filter(json!({ "typeId": [type_id] })))
        .await?;
    let resource = listed
        .resource
        .first()
        .and_then(|r| r.id)
        .unwrap_or_default();
    // 2. booking.v1.booking.add: resources and period (timestamps with their time zone)
    let at = |t: i64| BookingTime::new().timestamp(t).timezone("UTC");
    let period = |a: i64, b: i64| BookingPeriod::new().from(at(a)).to(at(b));
    let booking = Booking::new()
        .resource_ids([resource])
        .name("Test drive")
        .date_period(period(from, from + 1800));
    let id = client.send(&BookingV1BookingAdd::new(booking)).await?.id;
    // 3. booking.v1.booking.update: the client asked for an hour later
    let moved = Booking::new().date_period(period(from + 3600, from + 5400));
    client.send(&BookingV1BookingUpdate::new(id, moved)).await?;
    Ok(id)
}

/// Chain 2, calendar event orchestration: the user's calendar, an event in it, the event
/// moved and read back. Returns the event as the portal keeps it.
async fn calendar_event(client: &Client, user: u64, day: &str) -> Result<CalendarEvent, Error> {
    // 1. calendar.section.get: the user's calendars (the first is used)
    let sections = client.send(&CalendarSectionGet::new("user", user)).await?;
    let section = sections.first().and_then(|s| s.id).unwrap_or(0);
    // 2. calendar.event.add
    let event = CalendarEventAdd::new(
        "user",
        user,
        format!("{day} 10:00"),
        format!("{day} 11:00"),
        section,
        "Quarterly review",
    );
    let id = client.send(&event).await?;
    // 3. calendar.event.update (here: a new time and room), then calendar.event.getbyid
    let update = CalendarEventUpdate::new(id, "user", user)
        .from(format!("{day} 14:00"))
        .to(format!("{day} 15:00"))
        .location("Room 4");
    client.send(&update).await?;
    client.send(&CalendarEventGetbyid::new(id)).await
}

/// Chain 3, workday automation: read the status, open the day when it is not open, close it
/// with a report. Returns the status after each step.
async fn workday(client: &Client, user: u64) -> Result<Vec<String>, Error> {
    let status = |d: &TimemanDay| {
        d.status
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    // 1. timeman.status
    let mut seen = vec![status(
        &client.send(&TimemanStatus::new().user_id(user)).await?,
    )];
    // 2. timeman.open, unless the day is already open
    if seen[0] != "OPENED" {
        seen.push(status(
            &client.send(&TimemanOpen::new().user_id(user)).await?,
        ));
    }
    // 3. timeman.close with the day's report
    let close = TimemanClose::new()
        .user_id(user)
        .report("Done: review, calls");
    seen.push(status(&client.send(&close).await?));
    Ok(seen)
}

#[tokio::test]
async fn chain_1_booking_lifecycle() {
    let (_emu, client) = portal().await;
    let ty = client
        .send(&BookingV1ResourceTypeAdd::new(
            BookingResourceType::new().name("Cars").code("cars"),
        ))
        .await
        .unwrap()
        .id;
    let car = BookingResource::new().name("Sedan 1").type_id(ty);
    client.send(&BookingV1ResourceAdd::new(car)).await.unwrap();
    let from = 1_723_446_900;
    let id = booking_lifecycle(&client, ty as i64, from).await.unwrap();
    let got = client.send(&BookingV1BookingGet::new(id)).await.unwrap();
    let start = got.booking.date_period.and_then(|p| p.from?.timestamp);
    assert_eq!(start, Some(from + 3600));
    // A period that ends before it starts is refused.
    let bad = Booking::new().date_period(
        BookingPeriod::new()
            .from(BookingTime::new().timestamp(from))
            .to(BookingTime::new().timestamp(from - 1)),
    );
    let e = client
        .send(&BookingV1BookingUpdate::new(id, bad))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Invalid date period"), "{e}");
}

#[tokio::test]
async fn chain_2_calendar_event_orchestration() {
    let (_emu, client) = portal().await;
    client
        .send(&CalendarSectionAdd::new("user", 1, "Work"))
        .await
        .unwrap();
    let event = calendar_event(&client, 1, "2024-12-11").await.unwrap();
    assert_eq!(event.date_from.as_deref(), Some("12/11/2024 02:00:00 pm"));
    assert_eq!(event.location.as_deref(), Some("Room 4"));
    assert_eq!(event.dt_length, Some(3600));
}

#[tokio::test]
async fn chain_3_workday_automation() {
    let (_emu, client) = portal().await;
    let seen = workday(&client, 1).await.unwrap();
    assert_eq!(seen, ["CLOSED", "OPENED", "CLOSED"]);
    let day = client.send(&TimemanStatus::new()).await.unwrap();
    assert!(day.time_finish.is_some(), "{day:?}");
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-services.md"),
        include_str!("services.rs"),
        3,
    );
}
