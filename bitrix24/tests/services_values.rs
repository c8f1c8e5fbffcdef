//! The booking, calendar and time tracking specs decode what their docs pages' tables allow
//! beyond the examples (Y/N switches, `null` and `""` for unset values, numbers sent as
//! strings, `false` for an absent object, `[]` for an empty map) and send what the pages ask
//! for. Sources: booking/resource/booking-v1-resource-get.md and -add.md,
//! booking/resource/slots/booking-v1-resource-slots-set.md,
//! calendar/_includes/calendar_event_fields.md, calendar/calendar-event/calendar-accessibility-get.md,
//! calendar/calendar-event/calendar-meeting-status-set.md, timeman/base/timeman-status.md,
//! timeman/schedule/timeman-schedule-get.md, timeman/timecontrol/timeman-timecontrol-reports-get.md,
//! timeman/timecontrol/timeman-timecontrol-settings-set.md.
#![cfg(feature = "services")]

mod decode_support;

use bitrix24::Method;
use bitrix24::packs::services::{
    BookingResource, BookingSlot, BookingTemplateType, BookingV1ResourceSlotsSet,
    CalendarAccessibilityGet, CalendarEvent, CalendarMeetingStatus, CalendarMeetingStatusSet,
    TimemanControlRecord, TimemanDay, TimemanDayStatus, TimemanSchedule,
    TimemanTimecontrolSettingsSet,
};
use decode_support::decode;
use serde_json::json;

#[test]
fn booking_resource_switches_are_y_n_and_templates_an_enum() {
    let r: BookingResource = decode(json!({
        "id": "15", "typeId": "1", "isMain": "N", "isInfoNotificationOn": "Y",
        "templateTypeInfo": "animate", "templateTypeReminder": "base",
        "templateTypeFeedback": "custom", "templateTypeDelayed": "",
        "infoNotificationDelay": null, "reminderNotificationDelay": "-1", "description": null
    }));
    assert_eq!((r.id, r.type_id), (Some(15), Some(1)));
    assert_eq!(
        (r.is_main, r.is_info_notification_on),
        (Some(false), Some(true))
    );
    assert_eq!(r.template_type_info, Some(BookingTemplateType::Animate));
    assert_eq!(r.template_type_reminder, Some(BookingTemplateType::Base));
    // A template the docs do not list is kept as sent; "" is not set.
    assert_eq!(
        r.template_type_feedback,
        Some(BookingTemplateType::Unknown("custom".into()))
    );
    assert_eq!(r.template_type_delayed, None);
    assert_eq!(r.info_notification_delay, None);
    assert_eq!(r.reminder_notification_delay, Some(-1));
    assert_eq!(r.description, None);
    // The switches are sent as the page lists them: Y/N.
    let sent = serde_json::to_value(
        BookingResource::new()
            .name("Room 1")
            .type_id(3)
            .is_main(false)
            .is_reminder_notification_on(true)
            .template_type_confirmation(BookingTemplateType::Inanimate),
    )
    .unwrap();
    assert_eq!(
        (
            &sent["isMain"],
            &sent["isReminderNotificationOn"],
            &sent["templateTypeConfirmation"]
        ),
        (&json!("N"), &json!("Y"), &json!("inanimate"))
    );
}

#[test]
fn booking_slots_are_sent_as_a_list_of_objects() {
    let slot = BookingSlot::new()
        .from(540)
        .to(1080)
        .timezone("Europe/Berlin")
        .week_days(["Mon", "Fri"])
        .slot_size(60);
    let sent = serde_json::to_value(BookingV1ResourceSlotsSet::new(7, [slot])).unwrap();
    assert_eq!(
        sent,
        json!({"resourceId": 7, "slots": [{"from": 540, "to": 1080, "timezone": "Europe/Berlin",
            "weekDays": ["Mon", "Fri"], "slotSize": 60}]})
    );
}

#[test]
fn calendar_events_take_empty_and_string_values() {
    let e: CalendarEvent = decode(json!({
        "ID": "1265", "DELETED": "N", "DT_SKIP_TIME": "Y", "PRIVATE_EVENT": "",
        "TZ_OFFSET_FROM": "7200", "DATE_FROM_TS_UTC": "1733932740", "MEETING_STATUS": "Q",
        "IS_MEETING": false, "RRULE": "", "REMIND": [], "MEETING_HOST": "0",
        "ATTENDEE_LIST": [{"id": 1, "entryId": "1265", "status": "N"}],
        "EVENT_TYPE": null, "SECTION_ID": "4"
    }));
    assert_eq!(e.id, Some(1265));
    assert_eq!((e.deleted, e.dt_skip_time), (Some(false), Some(true)));
    assert_eq!(e.private_event, None);
    assert_eq!(e.tz_offset_from, Some(7200));
    assert_eq!(e.date_from_ts_utc, Some(1_733_932_740));
    assert_eq!(e.meeting_status, Some(CalendarMeetingStatus::Invited));
    // A single event sends "" for its recurrence rule: not set, not an error.
    assert_eq!(e.rrule, None);
    assert_eq!(e.remind, Some(vec![]));
    let attendee = &e.attendee_list.unwrap()[0];
    assert_eq!(attendee.entry_id, Some(1265));
    assert_eq!(attendee.status, Some(CalendarMeetingStatus::Declined));
    // A weekly rule: BYDAY is an object keyed by the day.
    let e: CalendarEvent =
        decode(json!({"RRULE": {"FREQ": "WEEKLY", "BYDAY": {"MO": "MO"}, "INTERVAL": "1"}}));
    let rule = e.rrule.unwrap();
    assert_eq!(rule.byday.unwrap()["MO"], "MO");
    assert_eq!(rule.interval, Some(1));
}

#[test]
fn calendar_accessibility_has_a_list_per_user_even_an_empty_one() {
    let busy = CalendarAccessibilityGet::decode_response(json!({
        "1": [{"ID": "1213", "ACCESSIBILITY": "busy", "~USER_OFFSET_FROM": -21600}],
        "34": []
    }))
    .unwrap();
    assert_eq!(busy["1"][0].user_offset_from, Some(-21600));
    assert!(busy["34"].is_empty());
}

#[test]
fn calendar_meeting_reply_is_one_of_the_documented_letters() {
    let sent = serde_json::to_value(CalendarMeetingStatusSet::new(
        5,
        CalendarMeetingStatus::Accepted,
    ))
    .unwrap();
    assert_eq!(sent, json!({"eventId": 5, "status": "Y"}));
}

#[test]
fn timeman_days_schedules_and_records_take_what_the_tables_allow() {
    let d: TimemanDay = decode(json!({
        "STATUS": "EXPIRED", "TIME_FINISH": null, "IP_CLOSE": "", "LAT_OPEN": "53.5", "LAT_CLOSE": 0
    }));
    assert_eq!(d.status, Some(TimemanDayStatus::Expired));
    assert_eq!((d.time_finish, d.ip_close), (None, None));
    assert_eq!((d.lat_open, d.lat_close), (Some(53.5), Some(0.0)));
    // DELETED travels as "0"/"1"; an unset deletion date as "".
    let s: TimemanSchedule =
        decode(json!({"ID": 1, "DELETED": "1", "DELETED_AT": "", "SHIFTS": []}));
    assert_eq!((s.deleted, s.deleted_at), (Some(true), None));
    assert_eq!(s.shifts, Some(vec![]));
    // ip_start_network is `false` outside the office networks, an object inside one.
    let r: TimemanControlRecord = decode(json!({
        "id": "27", "type": "TM_START", "ip_start_network": false,
        "ip_finish_network": {"ip": "10.0.0.5", "range": "10.0.0.0-10.255.255.255", "name": "Office"}
    }));
    assert_eq!(r.ip_start_network, None);
    assert_eq!(r.ip_finish_network.unwrap().name.as_deref(), Some("Office"));
}

#[test]
fn timeman_report_users_are_sent_as_lists() {
    let sent = serde_json::to_value(
        TimemanTimecontrolSettingsSet::new()
            .active(true)
            .report_request_users([3, 5]),
    )
    .unwrap();
    assert_eq!(
        sent,
        json!({"ACTIVE": true, "REPORT_REQUEST_USERS": [3, 5]})
    );
}
