//! The REST 3.0 company structure (`humanresources.*`, issue 15) through the typed calls
//! against the emulator: one node tree that starts as the portal's departments (the company is
//! node 1, its users its employees), nodes added, edited, moved and searched, members added, moved, removed and set by
//! role, communications bound, employees found, and the documented validation errors.

use std::collections::BTreeMap;

use futures::TryStreamExt;

use bitrix24::packs::core::{
    HrCommunicationType, HrMemberRole, HrNode, HrNodeType, HrTeamColor,
    HumanresourcesEmployeeCount, HumanresourcesEmployeeFieldGet, HumanresourcesEmployeeFieldList,
    HumanresourcesEmployeeMultidepartment, HumanresourcesEmployeeSearch,
    HumanresourcesEmployeeSubordinates, HumanresourcesNodeAdd, HumanresourcesNodeChildren,
    HumanresourcesNodeCommunicationEdit, HumanresourcesNodeCommunicationList,
    HumanresourcesNodeCount, HumanresourcesNodeEdit, HumanresourcesNodeFieldGet,
    HumanresourcesNodeFieldList, HumanresourcesNodeGet, HumanresourcesNodeList,
    HumanresourcesNodeMemberAdd, HumanresourcesNodeMemberFieldGet,
    HumanresourcesNodeMemberFieldList, HumanresourcesNodeMemberMove,
    HumanresourcesNodeMemberRemove, HumanresourcesNodeMemberSet, HumanresourcesNodeMove,
    HumanresourcesNodeSearch,
};
use bitrix24::{ApiVersion, Error};
use bitrix24_emulator::RunningEmulator;
use serde_json::json;

use crate::support::{emulator, hook_client};

/// A portal with users 1 (John Smith), 7 and 12 (`User7 Test`, `User12 Test`).
async fn company() -> RunningEmulator {
    emulator()
        .webhook(7, "seven")
        .webhook(12, "twelve")
        .start()
        .await
        .unwrap()
}

fn roles(of: &HrNode) -> Vec<(Option<u64>, Option<HrMemberRole>)> {
    let mut m: Vec<_> = of
        .members
        .iter()
        .flatten()
        .map(|m| (m.user_id, m.role.clone()))
        .collect();
    m.sort_by_key(|x| x.0);
    m
}

fn code(e: &Error) -> Option<String> {
    e.code().map(|c| c.as_str().to_owned())
}

#[tokio::test]
async fn the_node_tree_grows_moves_and_reads_back_typed() {
    let emu = company().await;
    let c = hook_client(&emu.webhook_url());

    let root = c.send(&HumanresourcesNodeGet::new(1)).await.unwrap().item;
    assert_eq!(root.r#type, Some(HrNodeType::Department));
    assert_eq!(root.parent_id, None, "the company is the root");

    let by_role = BTreeMap::from([
        ("MEMBER_HEAD".to_owned(), vec![7]),
        ("MEMBER_EMPLOYEE".to_owned(), vec![12]),
    ]);
    let sales = c
        .send(
            &HumanresourcesNodeAdd::new(HrNodeType::Department, "Sales", 1)
                .description("Sells")
                .user_ids(by_role)
                .binding_chat_ids([31]),
        )
        .await
        .unwrap();
    let sales_id = sales.id.unwrap();
    assert_eq!((sales.parent_id, sales.user_count), (Some(1), Some(2)));
    assert_eq!(
        roles(&sales),
        [
            (Some(7), Some(HrMemberRole::DepartmentHead)),
            (Some(12), Some(HrMemberRole::DepartmentEmployee))
        ]
    );
    let b2b = c
        .send(&HumanresourcesNodeAdd::new(
            HrNodeType::Department,
            "B2B Sales",
            sales_id,
        ))
        .await
        .unwrap()
        .id
        .unwrap();
    let team = c
        .send(
            &HumanresourcesNodeAdd::new(HrNodeType::Team, "Launch team", 1)
                .color_name(HrTeamColor::Green),
        )
        .await
        .unwrap();
    assert_eq!(team.color_name, Some(HrTeamColor::Green));

    let kids = c
        .send(&HumanresourcesNodeChildren::new(1))
        .await
        .unwrap()
        .items;
    let names: Vec<_> = kids.iter().filter_map(|n| n.name.as_deref()).collect();
    assert_eq!(names, ["Sales", "Launch team"]);
    let departments: Vec<HrNode> = c
        .stream(
            &HumanresourcesNodeList::new(HrNodeType::Department)
                .pagination(serde_json::json!({"limit": 2})),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(departments.len(), 3, "the company, Sales, B2B Sales");
    let count = c.send(&HumanresourcesNodeCount::new()).await.unwrap();
    assert_eq!((count.departments, count.teams), (Some(3), Some(1)));

    let edited = c
        .send(&HumanresourcesNodeEdit::new(b2b).name("B2B"))
        .await
        .unwrap();
    assert_eq!(edited.name.as_deref(), Some("B2B"));
    let moved = c.send(&HumanresourcesNodeMove::new(b2b, 1)).await.unwrap();
    assert_eq!(moved.parent_id, Some(1));
    let cycle = c
        .send(&HumanresourcesNodeMove::new(1, b2b))
        .await
        .unwrap_err();
    assert_eq!(
        code(&cycle).as_deref(),
        Some("BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION"),
        "a node never goes under one of its own"
    );
    let found: Vec<HrNode> = c
        .stream(&HumanresourcesNodeSearch::new(
            HrNodeType::Department,
            "sal",
        ))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|n| n.id).collect::<Vec<_>>(),
        [Some(sales_id)]
    );

    let chats = c
        .send(&HumanresourcesNodeCommunicationList::new(sales_id))
        .await
        .unwrap();
    let ids: Vec<_> = chats.chats.iter().flatten().map(|x| x.id).collect();
    assert_eq!(ids, [Some(31)]);
    c.send(
        &HumanresourcesNodeCommunicationEdit::new(sales_id, HrCommunicationType::Chat)
            .remove_ids([31])
            .ids([40]),
    )
    .await
    .unwrap();
    let chats = c
        .send(&HumanresourcesNodeCommunicationList::new(sales_id))
        .await
        .unwrap();
    let ids: Vec<_> = chats.chats.iter().flatten().map(|x| x.id).collect();
    assert_eq!(ids, [Some(40)]);

    let fields = sent!(c, HumanresourcesNodeFieldList::new()).items;
    assert_eq!(fields.len(), 13);
    let id = sent!(c, HumanresourcesNodeFieldGet::new("id")).item;
    assert_eq!((id.filterable, id.sortable), (Some(true), Some(true)));
}

#[tokio::test]
async fn members_move_between_nodes_and_employees_are_found() {
    let emu = company().await;
    let c = hook_client(&emu.webhook_url());
    let add = |name: &'static str| HumanresourcesNodeAdd::new(HrNodeType::Department, name, 1);
    let a = c.send(&add("Alpha")).await.unwrap().id.unwrap();
    let b = c.send(&add("Beta")).await.unwrap().id.unwrap();

    let ok = c
        .send(&HumanresourcesNodeMemberAdd::new(
            a,
            [7, 12],
            HrMemberRole::DepartmentEmployee,
        ))
        .await
        .unwrap();
    assert_eq!(ok.success, Some(true));
    c.send(&HumanresourcesNodeMemberAdd::new(
        b,
        [12],
        HrMemberRole::DepartmentHead,
    ))
    .await
    .unwrap();
    let multi = c
        .send(&HumanresourcesEmployeeMultidepartment::new())
        .await
        .unwrap();
    let users: Vec<_> = multi
        .employees
        .iter()
        .flatten()
        .map(|e| e.user_id)
        .collect();
    assert_eq!(
        users,
        [Some(7), Some(12)],
        "the company and Alpha; and Beta"
    );
    let heads = c
        .send(&HumanresourcesEmployeeSubordinates::new(12))
        .await
        .unwrap();
    let headed: Vec<_> = heads
        .departments
        .iter()
        .flatten()
        .map(|d| (d.node_id, d.subordinates_count))
        .collect();
    assert_eq!(headed, [(Some(b), Some(0))]);

    c.send(&HumanresourcesNodeMemberMove::new(b, [7]))
        .await
        .unwrap();
    let alpha = c.send(&HumanresourcesNodeGet::new(a)).await.unwrap().item;
    assert_eq!(
        roles(&alpha),
        [(Some(12), Some(HrMemberRole::DepartmentEmployee))],
        "7 left Alpha"
    );
    let beta = c.send(&HumanresourcesNodeGet::new(b)).await.unwrap().item;
    assert_eq!(
        roles(&beta),
        [
            (Some(7), Some(HrMemberRole::DepartmentEmployee)),
            (Some(12), Some(HrMemberRole::DepartmentHead))
        ]
    );
    let removal = c
        .send(&HumanresourcesNodeMemberRemove::new(b, [7, 31]))
        .await
        .unwrap();
    assert_eq!(removal.removed, Some(vec![7]));
    let failed: Vec<_> = removal.failed.iter().flatten().map(|f| f.user_id).collect();
    assert_eq!(failed, [Some(31)]);
    c.send(&HumanresourcesNodeMemberSet::new(
        a,
        BTreeMap::from([("MEMBER_HEAD".to_owned(), vec![1])]),
    ))
    .await
    .unwrap();
    let alpha = c.send(&HumanresourcesNodeGet::new(a)).await.unwrap().item;
    assert_eq!(
        roles(&alpha),
        [(Some(1), Some(HrMemberRole::DepartmentHead))]
    );

    let found = c
        .send(&HumanresourcesEmployeeSearch::new("smith"))
        .await
        .unwrap()
        .items;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name.as_deref(), Some("John Smith"));
    let in_alpha: Vec<_> = found[0]
        .departments
        .iter()
        .flatten()
        .filter_map(|d| d.id)
        .collect();
    assert!(in_alpha.contains(&a), "{in_alpha:?}");
    let only_beta = c
        .send(&HumanresourcesEmployeeSearch::new("user").node_id(b))
        .await
        .unwrap()
        .items;
    let ids: Vec<_> = only_beta.iter().map(|e| e.user_id).collect();
    assert_eq!(ids, [Some(12)]);
    let total = c.send(&HumanresourcesEmployeeCount::new()).await.unwrap();
    assert_eq!(total.total, Some(2), "7 left every department");

    let member_fields = sent!(c, HumanresourcesNodeMemberFieldList::new()).items;
    assert_eq!(member_fields.len(), 6);
    let role = sent!(c, HumanresourcesNodeMemberFieldGet::new("role")).item;
    assert_eq!(role.r#type.as_deref(), Some("string"));
    let employee_fields = sent!(c, HumanresourcesEmployeeFieldList::new()).items;
    assert_eq!(employee_fields.len(), 7);
    let teams = sent!(c, HumanresourcesEmployeeFieldGet::new("teams")).item;
    assert_eq!(teams.r#type.as_deref(), Some("array"));
}

#[tokio::test]
async fn bad_company_structure_input_gets_the_documented_errors() {
    let emu = company().await;
    let c = hook_client(&emu.webhook_url());
    let validation = Some("BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION");

    let no_parent = c
        .with_api_version(ApiVersion::V3)
        .call(
            "humanresources.node.add",
            json!({"type": "DEPARTMENT", "name": "Sales"}),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&no_parent).as_deref(), validation);
    assert!(
        no_parent
            .to_string()
            .contains("[parentId: Required field `parentId` is not specified]"),
        "{no_parent}"
    );
    let blank = c
        .send(&HumanresourcesNodeAdd::new(HrNodeType::Department, "", 1))
        .await
        .unwrap_err();
    assert_eq!(code(&blank).as_deref(), validation);
    assert!(
        blank
            .to_string()
            .contains("[name: Required field `name` is not specified]"),
        "{blank}"
    );

    let team_role = c
        .send(&HumanresourcesNodeMemberAdd::new(
            1,
            [7],
            HrMemberRole::TeamMember,
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&team_role).as_deref(), validation);
    assert!(
        team_role
            .to_string()
            .contains("Invalid role `MEMBER_TEAM_EMPLOYEE`"),
        "{team_role}"
    );
    let nothing = c
        .send(&HumanresourcesNodeMemberAdd::new(
            1,
            std::iter::empty::<u64>(),
            HrMemberRole::DepartmentEmployee,
        ))
        .await
        .unwrap_err();
    assert!(
        nothing.to_string().contains("must be a non-empty array"),
        "{nothing}"
    );
    let unchanged = c.send(&HumanresourcesNodeEdit::new(1)).await.unwrap_err();
    assert!(
        unchanged
            .to_string()
            .contains("At least one field must be provided"),
        "{unchanged}"
    );
    let missing = c.send(&HumanresourcesNodeGet::new(999)).await.unwrap_err();
    assert_eq!(
        code(&missing).as_deref(),
        Some("BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION")
    );
    let unknown = c
        .send(&HumanresourcesNodeFieldGet::new("nope"))
        .await
        .unwrap_err();
    assert_eq!(
        code(&unknown).as_deref(),
        Some("BITRIX_REST_V3_REALISATION_EXCEPTION_FIELDNOTFOUNDEXCEPTION")
    );
}
