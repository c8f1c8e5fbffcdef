#[derive(bitrix24::SmartProcessItem)]
#[bitrix24(entity_type_id = 128)]
struct Project {
    stage_id: Option<String>,
    #[bitrix24(field = "stageId")]
    stage: Option<String>,
}

fn main() {}
