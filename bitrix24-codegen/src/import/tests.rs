//! The importer on excerpts of real docs pages.

use super::guess::map_doc_type;
use super::page::{bold_name, nested_param_name, nth_cell};
use super::*;

const ADD_PAGE: &str = r#"# Create a New Deal crm.deal.add

{% note tip "" %}

Tip text.

{% endnote %}

> Scope: [`crm`](../../scopes/permissions.md)
>
> Who can execute the method: any user

The method `crm.deal.add` creates a new deal.

## Method Parameters

{% include [Note on required parameters](../../../_includes/required.md) %}

#|
|| **Name**
`type` | **Description** ||
|| **fields***
[`object`](../../data-types.md) | Object format:

```
{
field_1: value_1,
}
```

The list is described [below](#fields)
||
|| **params**
[`object`](../../data-types.md) | Extra parameters ||
|#

### Parameter fields {#fields}

#|
|| **Name**
`type` | **Description** ||
|| **TITLE**
[`string`](../../data-types.md) | Title. ||
|| **OPPORTUNITY**
[`double`](../../data-types.md) | Amount. ||
|| **CONTACT_IDS**
[`crm_contact[]`](../data-types.md) | Contacts. ||
|| **OPENED**
[`char`](../../data-types.md) | Open to all. Values:
- `Y` — yes
- `N` — no
||
|| **UF_CRM_...** | Custom fields ||
|#

## Code Examples

{% list tabs %}

- cURL (Webhook)

```bash
curl -d '{"fields":{}}' https://example/rest/crm.deal.add
```

{% endlist %}

## Response Handling

HTTP Status: **200**

```json
{
"result": 394,
"time": {
    "start": 1725013197.635808,
    "date_start": "2024-08-30T12:19:57+02:00"
}
}
```

### Returned Data

#|
|| **Name**
`type` | **Description** ||
|| **result**
[`integer`](../../data-types.md) | Id of the new deal ||
|| **time**
[`time`](../../data-types.md#time) | Timing ||
|#

## Error Handling

```json
{
"error": "",
"error_description": "Parameter 'fields' must be array."
}
```
"#;

const LIST_PAGE: &str = r#"# Get a List of Tasks tasks.task.list

> Scope: [`task`](../scopes/permissions.md)
>
> Who can execute the method: any user

## Method Parameters

#|
|| **Name**
`type` | **Description** ||
|| **order**
[`object`](../data-types.md) | Sorting ||
|| **filter**
[`object`](../data-types.md) | Filter with `>`, `<` and `\|` prefixes ||
|| **select**
[`array`](../data-types.md) | Fields ||
|| **start**
[`integer`](../data-types.md) | Offset ||
|#

## Response Handling

HTTP Status: **200**

```json
{
"result": {
    "tasks": [
        {"id": "8017", "title": "Täsk \"one\"", "favorite": "N"}
    ]
},
"total": 1,
"time": {"start": 1}
}
```
"#;

const FIELDS_PAGE: &str = r#"# Get Fields of the Deal crm.deal.fields

> Scope: [`crm`](../../scopes/permissions.md)

## Method Parameters

No parameters.

## Response Handling

```json
{
"result": {
    "ID": {"type": "integer", "isRequired": false, "isMultiple": false},
    "TITLE": {"type": "string", "isMultiple": false},
    "CONTACT_IDS": {"type": "crm_contact", "isMultiple": true},
    "DATE_CREATE": {"type": "datetime", "isMultiple": false}
}
}
```
"#;

const THREE_COLUMN_PAGE: &str = r#"# Delete a Chat Bot imbot.unregister

> Scope: [`imbot`](../scopes/permissions.md), [`im`](../scopes/permissions.md)

## Method Parameters

#|
|| **Field** | **Type** | **Description** ||
|| **BOT_ID*** | `integer` | Bot id ||
|| **CLIENT_ID** | `string` | Client ||
|#

## Response Handling

```json
{ "result": true }
```
"#;

const HEADERLESS_PAGE: &str = r#"# Get the list of bookings booking.v1.booking.list

> Scope: [`booking`](../../scopes/permissions.md)

## Method Parameters

#|
|| **FILTER**
[`object`](../../data-types.md) | Filter, fields [below](#filter) ||
|| **ORDER**
[`object`](../../data-types.md) | Sorting ||
|#

### Filter Parameters {#filter}

#|
|| **Name**
`type` | **Description** ||
|| **within**
[`object`](../../data-types.md) | Period ||
|#

## Response Handling

```json
{"result": {"booking": [{"id": 15, "responsible": "user.id"}]}}
```
"#;

/// Asserts that each `key` of `table` is the string `value`.
fn assert_strings(table: &toml::Value, expected: &[(&str, &str)]) {
    for (key, value) in expected {
        assert_eq!(table[*key].as_str(), Some(*value), "`{key}`");
    }
}

fn parse(toml_text: &str) -> toml::Table {
    toml::from_str(toml_text)
        .unwrap_or_else(|e| panic!("draft is not valid TOML: {e}\n{toml_text}"))
}

#[test]
fn drafts_an_add_method_with_a_nested_entity() {
    let draft = draft_from_markdown(ADD_PAGE, "crm/deals/crm-deal-add.md").unwrap();
    let t = parse(&draft);
    let m = &t["method"]["crm.deal.add"];
    assert_strings(
        m,
        &[
            ("docs", "crm/deals/crm-deal-add.md"),
            ("risk", "write"),
            ("response", "id"),
            ("example", "394"),
        ],
    );
    assert_eq!(m["scopes"].as_array().unwrap()[0].as_str(), Some("crm"));
    let fields = &m["params"]["fields"];
    assert_eq!(fields["type"].as_str(), Some("entity:Deal"));
    assert_eq!(fields["required"].as_bool(), Some(true));
    assert!(m["params"]["params"].get("required").is_none());
    let e = &t["entity"]["Deal"]["fields"];
    assert_strings(
        e,
        &[
            ("TITLE", "string"),
            ("OPPORTUNITY", "decimal"),
            ("CONTACT_IDS", "list<id>"),
            // `char` with the values Y and N listed: a flag (sent as "Y"/"N"), not a bool.
            ("OPENED", "flag"),
        ],
    );
    assert!(e.get("UF_CRM_...").is_none());
    assert!(draft.contains("# review: guessed from the method name"));
}

#[test]
fn drafts_a_wrapped_list_with_keyset_pagination() {
    let draft = draft_from_markdown(LIST_PAGE, "tasks/tasks-task-list.md").unwrap();
    let t = parse(&draft);
    let m = &t["method"]["tasks.task.list"];
    assert_strings(
        m,
        &[
            ("risk", "read"),
            ("response", "wrapped_list:tasks:Task"),
            ("pagination", "keyset"),
        ],
    );
    assert_eq!(m["params"]["select"]["type"].as_str(), Some("list<string>"));
    assert_eq!(m["params"]["start"]["type"].as_str(), Some("int"));
    assert_eq!(
        m["example"].as_str(),
        Some(r#"{"tasks":[{"id":"8017","title":"Täsk \"one\"","favorite":"N"}]}"#)
    );
    assert!(!draft.contains("No parameters"));
}

#[test]
fn reads_three_column_tables_and_several_scopes() {
    let draft = draft_from_markdown(THREE_COLUMN_PAGE, "chat-bots/imbot-unregister.md").unwrap();
    let t = parse(&draft);
    let m = &t["method"]["imbot.unregister"];
    assert_eq!(m["risk"].as_str(), Some("destructive"));
    assert_eq!(m["response"].as_str(), Some("bool"));
    let scopes: Vec<&str> = m["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(scopes, ["imbot", "im"]);
    assert_eq!(m["params"]["BOT_ID"]["type"].as_str(), Some("int"));
    assert_eq!(m["params"]["BOT_ID"]["required"].as_bool(), Some(true));
    assert_eq!(m["params"]["CLIENT_ID"]["type"].as_str(), Some("string"));
}

#[test]
fn drafts_an_entity_from_a_fields_page() {
    let draft =
        draft_entity_from_markdown(FIELDS_PAGE, "crm/deals/crm-deal-fields.md", "Deal").unwrap();
    let t = parse(&draft);
    let e = &t["entity"]["Deal"];
    assert_eq!(e["id"].as_str(), Some("ID"));
    assert_eq!(e["fields"]["ID"].as_str(), Some("id"));
    assert_eq!(e["fields"]["CONTACT_IDS"].as_str(), Some("list<id>"));
    assert_eq!(e["fields"]["DATE_CREATE"].as_str(), Some("datetime"));
    let wrapped = "# Fields sale.order.getFields\n\n## Response Handling\n\n```json\n\
                   {\"result\": {\"order\": {\"id\": {\"type\": \"integer\"}, \"price\": {\"type\": \"double\"}}}}\n```\n";
    let t = parse(
        &draft_entity_from_markdown(wrapped, "sale/order/sale-order-get-fields.md", "Order")
            .unwrap(),
    );
    assert_eq!(t["entity"]["Order"]["fields"]["id"].as_str(), Some("id"));
    assert_eq!(
        t["entity"]["Order"]["fields"]["price"].as_str(),
        Some("decimal")
    );
    let listed = "# F biconnector.source.fields\n\n## Response Handling\n\n```json\n\
                  {\"result\": {\"fields\": [{\"title\": \"title\", \"type\": \"string\"}]}}\n```\n";
    let t = parse(&draft_entity_from_markdown(listed, "b.md", "Source").unwrap());
    assert_eq!(
        t["entity"]["Source"]["fields"]["title"].as_str(),
        Some("string")
    );
    let draft = draft_from_markdown(FIELDS_PAGE, "crm/deals/crm-deal-fields.md").unwrap();
    assert_eq!(
        parse(&draft)["method"]["crm.deal.fields"]["risk"].as_str(),
        Some("read")
    );
}

#[test]
fn reads_headerless_tables_and_notes_nested_filter_keys() {
    let draft = draft_from_markdown(
        HEADERLESS_PAGE,
        "booking/booking/booking-v1-booking-list.md",
    )
    .unwrap();
    let t = parse(&draft);
    let m = &t["method"]["booking.v1.booking.list"];
    assert_eq!(m["params"]["FILTER"]["type"].as_str(), Some("object"));
    assert_eq!(m["params"]["ORDER"]["type"].as_str(), Some("object"));
    assert_eq!(m["response"].as_str(), Some("wrapped_list:booking:Booking"));
    assert!(draft.contains("documented keys: within"));
    assert!(t.get("entity").is_none());
    assert_eq!(map_doc_type("user.id", "x"), ("id".to_string(), false));
}

#[test]
fn prefers_the_method_the_examples_call() {
    let md = "# Delete department.department.delete\n\n> Scope: [`department`](x.md)\n\n## Method Parameters\n\n\
              #|\n|| **Name**\n`type` | **Description** ||\n|| **ID***\n[`integer`](x.md) | Id ||\n|#\n\n\
              ## Code Examples\n\n    ```bash\n    curl -X POST \\\n    https://**put_your_bitrix24_address**/rest/department.delete\n    ```\n";
    let draft = draft_from_markdown(md, "departments/department-delete.md").unwrap();
    let t = parse(&draft);
    let m = &t["method"]["department.delete"];
    assert_eq!(m["risk"].as_str(), Some("destructive"));
    assert_eq!(m["params"]["ID"]["type"].as_str(), Some("id"));
    assert!(draft.contains("the title says `department.department.delete`"));
    // A title naming the namespace: the examples' method extends it.
    let md = "# Pin a Chat at the Top of the im.recent List\n\n> Scope: [`im`](x.md)\n\n\
              ## Code Examples\n\n    ```bash\n    curl -X POST \\\n    \
              https://**put_your_bitrix24_address**/rest/im.recent.pin\n    ```\n";
    let draft = draft_from_markdown(md, "chats/special-operations/im-recent-pin.md").unwrap();
    assert!(
        parse(&draft)["method"].get("im.recent.pin").is_some(),
        "{draft}"
    );
    // The `.json` answer format appended to the title's method is the same method.
    let md = md
        .replace("im.recent List", "imopenlines.session.mode.silent")
        .replace("im.recent.pin", "imopenlines.session.mode.silent.json");
    let draft = draft_from_markdown(&md, "imopenlines/x.md").unwrap();
    let t = parse(&draft);
    assert!(
        t["method"].get("imopenlines.session.mode.silent").is_some(),
        "{draft}"
    );
}

#[test]
fn drafts_an_entity_from_a_response_object_table() {
    let md = "# Get messages im.dialog.messages.get\n\n## Response Handling\n\n### Returned Data\n\n\
              #|\n|| **Name**\n`type` | **Description** ||\n|| **result**\n[`object`](x.md) | Root ||\n|#\n\n\
              #### Message Object {#message}\n\n#|\n|| **Name**\n`type` | **Description** ||\n\
              || **id**\n[`integer`](x.md) | Id ||\n|| **date**\n[`datetime`](x.md) | Sent ||\n|#\n";
    let t = parse(
        &draft_entity_from_markdown(md, "chats/messages/im-dialog-messages-get.md", "Message")
            .unwrap(),
    );
    assert_eq!(t["entity"]["Message"]["id"].as_str(), Some("id"));
    assert_eq!(
        t["entity"]["Message"]["fields"]["date"].as_str(),
        Some("datetime")
    );
}

#[test]
fn rejects_a_page_without_a_method_name() {
    assert!(draft_from_markdown("# Overview\n\nText.\n", "x/index.md").is_err());
}

#[test]
fn guesses_risk_from_the_name() {
    assert_eq!(guess_risk("crm.deal.list"), ("read", false));
    assert_eq!(guess_risk("bizproc.workflow.kill"), ("destructive", false));
    assert_eq!(guess_risk("event.offline.clear"), ("destructive", false));
    assert_eq!(guess_risk("landing.site.getList"), ("read", false));
    assert_eq!(guess_risk("tasks.task.complete"), ("write", true));
}

#[test]
fn examples_keep_their_key_order() {
    // serde_json with `preserve_order` (the workspace's): the example reads as the docs wrote it.
    let j: Value = serde_json::from_str(r#"{"b": [1, null], "a": "x\u00e9\n", "c": {}}"#).unwrap();
    assert_eq!(
        j.to_string(),
        "{\"b\":[1,null],\"a\":\"x\u{e9}\\n\",\"c\":{}}"
    );
}

#[test]
fn splits_cells_outside_code_and_escapes() {
    let row = "|| **FILTER** | `a|b` and \\| pipe | third ||";
    assert_eq!(nth_cell(row, 1), Some(" `a|b` and \\| pipe "));
    assert_eq!(nth_cell(row, 2), Some(" third "));
    assert_eq!(
        bold_name("**entityTypeId***"),
        Some(("entityTypeId".to_string(), true))
    );
    assert_eq!(bold_name("**id^*^**"), Some(("id".to_string(), true)));
    assert_eq!(nested_param_name("Parameter fields {#fields}"), "fields");
    assert_eq!(nested_param_name("FIELDS Parameter"), "FIELDS");
}

const ACCURACY_PAGE: &str = r#"# Add an Order x.order.add

> Scope: [`sale`](../../scopes/permissions.md)

## Method Parameters

#|
|| **Name**
`type` | **Description** ||
|| **fields**^*^
[`object`](../../data-types.md) | Field values ||
|| **data**^*^
[`array`](../../data-types.md) | Folder data ||
|| **rights**
[`array`](../../data-types.md) | Access rights ||
|| **UF_**
[`any`](../../data-types.md) | User fields `UF_*` ||
|| **UF_\***
[`any`](../../data-types.md) | User fields ||
|#

### Parameter fields

#|
|| **Name**
`type` | **Description** ||
|| **statusId**
[`sale_status.id`](../data-types.md) | Status ||
|| **lockedBy**
[`user.id`](../../data-types.md) | Who locked it ||
|| **quantityTrace**
[`char`](../../data-types.md) | Quantity accounting. Possible values:
- `Y` — enabled
- `N` — disabled
- `D` — default
||
|| **canceled**
[`char`](../../data-types.md) | Canceled:
- `Y` — yes
- `N` — no
||
|| **code**
[`char`](../../data-types.md) | A code ||
|#

## Code Examples

```bash
curl -X POST -d '{"fields":{"statusId":"N"},"data":{"NAME":"Folder"}}' https://example.bitrix24.com/rest/x.order.add
```
"#;

#[test]
fn reads_values_shapes_and_required_marks_instead_of_guessing() {
    let draft = draft_from_markdown(ACCURACY_PAGE, "sale/order/sale-order-add.md").unwrap();
    let t = parse(&draft);
    let m = &t["method"]["x.order.add"];
    let params = m["params"].as_table().unwrap();
    // `**name**^*^`: the required mark written after the bold.
    assert_eq!(params["fields"]["required"].as_bool(), Some(true));
    assert_eq!(params["data"]["required"].as_bool(), Some(true));
    // `array` is an object when the examples send one, and unknown when none sends it.
    assert_eq!(params["data"]["type"].as_str(), Some("object"));
    assert_eq!(params["rights"]["type"].as_str(), Some("value"));
    assert!(
        draft.contains("no example sends it: a list or an object?"),
        "{draft}"
    );
    // `UF_` and `UF_*` stand for user fields: no parameter.
    assert!(params.keys().all(|k| !k.starts_with("UF_")), "{draft}");
    let e = &t["entity"]["Order"]["fields"];
    assert_strings(
        e,
        &[
            ("statusId", "string"),
            ("lockedBy", "id"),
            ("quantityTrace", "enum:OrderQuantityTrace"),
            ("canceled", "flag"),
            ("code", "string"),
        ],
    );
    let values = t["enum"]["OrderQuantityTrace"]["values"]
        .as_table()
        .unwrap();
    assert_eq!(values.keys().collect::<Vec<_>>(), ["Y", "N", "D"]);
    assert_eq!(values["D"].as_str(), Some("default"));
    assert!(
        draft.contains("documented as `char` with no values listed"),
        "{draft}"
    );
}
