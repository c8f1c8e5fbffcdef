//! The workgroup and poll specs decode what their docs pages' tables allow beyond the examples
//! (roles by letter, `false` or `""` for "no relation", counters sent as strings, `[]` for an
//! empty answer map) and send what the pages ask for. Sources:
//! sonet-group/socialnetwork-api-workgroup-get.md, sonet-group/members/sonet-group-user-get.md,
//! sonet-group/members/sonet-group-user-add.md, sonet-group/sonet-group-create.md,
//! vote/vote.attachedvote.get.md, vote/vote.attachedvote.vote.md, log/log-blogpost-get.md,
//! log/log-blogpost-getusers-important.md, log/blogcomment/log-blogcomment-user-get.md.
#![cfg(feature = "collab")]

mod decode_support;

use bitrix24::Method;
use bitrix24::packs::collab::{
    AttachedVote, BlogCommentsOfUser, BlogPost, LogBlogpostGetusersImportant, SonetGroupCreate,
    SonetGroupMember, SonetGroupType, SonetGroupUserAdd, SonetInvitePerms, SonetRole,
    SonetWorkgroupDetails, VoteAttachedVoteVote,
};
use decode_support::decode;
use serde_json::json;
use std::collections::BTreeMap;

#[test]
fn workgroup_details_take_flags_roles_and_no_relation() {
    let g: SonetWorkgroupDetails = decode(json!({
        "ID": 622, "ACTIVE": "Y", "CLOSED": "N", "PROJECT": "N", "TYPE": "scrum",
        "INITIATE_PERMS": "K", "NUMBER_OF_MEMBERS": "3", "PROJECT_DATE_START": null,
        "SCRUM_TASK_RESPONSIBLE": "", "MEMBERS": [1, "10", 20], "AVATAR": "",
        "USER_DATA": {"ROLE": "Z", "INITIATED_BY_TYPE": "U", "IS_SUBSCRIBED": false},
        "ADDITIONAL_DATA": {"ROLE": "", "INITIATED_BY_TYPE": ""},
        "COUNTERS": {"workgroup_requests_out": "2", "workgroup_requests_in": 0}
    }));
    assert_eq!(
        (g.active, g.closed, g.project),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(g.r#type, Some(SonetGroupType::Scrum));
    assert_eq!(g.initiate_perms, Some(SonetInvitePerms::AllMembers));
    assert_eq!(g.number_of_members, Some(3));
    assert_eq!(
        (g.project_date_start, g.scrum_task_responsible),
        (None, None)
    );
    assert_eq!(g.members, Some(vec![1, 10, 20]));
    let me = g.user_data.unwrap();
    assert_eq!(me.role, Some(SonetRole::Awaiting));
    assert_eq!(me.is_subscribed, Some(false));
    // A user with no relation to the group: "" for both.
    let none = g.additional_data.unwrap();
    assert_eq!((none.role, none.initiated_by_type), (None, None));
    assert_eq!(g.counters.unwrap()["workgroup_requests_out"], 2);
}

#[test]
fn members_have_roles_and_changes_answer_the_user_ids() {
    let m: SonetGroupMember = decode(json!({"USER_ID": "1271", "ROLE": "E"}));
    assert_eq!(
        (m.user_id, m.role),
        (Some(1271), Some(SonetRole::Moderator))
    );
    let done = SonetGroupUserAdd::decode_response(json!(["1271", "1272"])).unwrap();
    assert_eq!(done, vec![1271, 1272]);
    // Nobody could be added: PHP's empty array.
    assert_eq!(
        SonetGroupUserAdd::decode_response(json!([])).unwrap(),
        Vec::<u64>::new()
    );
    let sent = serde_json::to_value(SonetGroupUserAdd::new(77, [1271, 1272])).unwrap();
    assert_eq!(sent, json!({"GROUP_ID": 77, "USER_ID": [1271, 1272]}));
}

#[test]
fn workgroup_switches_are_sent_as_y_n() {
    let sent = serde_json::to_value(
        SonetGroupCreate::new("Team")
            .visible(true)
            .opened(false)
            .project(true)
            .initiate_perms(SonetInvitePerms::Owner),
    )
    .unwrap();
    assert_eq!(
        sent,
        json!({"NAME": "Team", "VISIBLE": "Y", "OPENED": "N", "PROJECT": "Y", "INITIATE_PERMS": "A"})
    );
}

#[test]
fn attached_votes_take_string_counters_and_an_empty_answer_map() {
    let v: AttachedVote = decode(json!({
        "ID": 1, "VOTE_ID": "1", "COUNTER": "0", "userAnswerMap": [], "isFinished": false,
        "QUESTIONS": {"1": {"ID": "1", "ACTIVE": "Y", "REQUIRED": "N", "FIELD_TYPE": "1",
            "ANSWERS": {"3": {"ID": "3", "COUNTER": "0", "PERCENT": 0, "IMAGE_ID": null}}}}
    }));
    assert_eq!((v.vote_id, v.counter), (Some(1), Some(0)));
    // The user has not voted: PHP's empty array, not a map.
    assert_eq!(v.user_answer_map, None);
    let q = &v.questions.unwrap()["1"];
    assert_eq!(
        (q.active, q.required, q.field_type),
        (Some(true), Some(false), Some(1))
    );
    let a = &q.answers.as_ref().unwrap()["3"];
    assert_eq!((a.percent, a.image_id), (Some(0.0), None));
}

#[test]
fn a_ballot_maps_questions_to_answer_ids() {
    let ballot = BTreeMap::from([("1".to_owned(), vec![2, 3]), ("2".to_owned(), vec![5])]);
    let sent = serde_json::to_value(VoteAttachedVoteVote::new(ballot).attach_id(1)).unwrap();
    assert_eq!(
        sent,
        json!({"attachId": 1, "ballot": {"1": [2, 3], "2": [5]}})
    );
}

#[test]
fn feed_posts_and_comment_files_decode_from_the_tables() {
    let p: BlogPost = decode(json!({
        "ID": "217", "AUTHOR_ID": "1269", "ENABLE_COMMENTS": "Y", "MICRO": "N",
        "NUM_COMMENTS": "0", "CODE": null, "HAS_COMMENT_IMAGES": null, "CATEGORY_ID": "9,11,13",
        "UF_BLOG_POST_FILE": {"FIELD_NAME": "UF_BLOG_POST_FILE", "VALUE": false}, "FILES": []
    }));
    assert_eq!(
        (p.id, p.author_id, p.num_comments),
        (Some(217), Some(1269), Some(0))
    );
    assert_eq!((p.enable_comments, p.micro), (Some(true), Some(false)));
    assert_eq!((p.code, p.has_comment_images), (None, None));
    assert_eq!(p.category_id.as_deref(), Some("9,11,13"));
    assert_eq!(p.files, Some(vec![]));
    assert_eq!(
        p.uf_blog_post_file.unwrap()["FIELD_NAME"],
        "UF_BLOG_POST_FILE"
    );
    let readers = LogBlogpostGetusersImportant::decode_response(json!(["1269", 1271])).unwrap();
    assert_eq!(readers, vec![1269, 1271]);
    // A user without comments: both parts empty, as PHP sends them.
    let c: BlogCommentsOfUser = decode(json!({"comments": [], "files": []}));
    assert_eq!((c.comments, c.files), (Some(vec![]), None));
}
