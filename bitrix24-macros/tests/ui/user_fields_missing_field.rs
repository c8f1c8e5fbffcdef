#[derive(bitrix24::UserFields)]
struct DealExtras {
    #[bitrix24(field = "UF_CRM_BUDGET")]
    budget: Option<String>,
    seats: Option<u64>,
}

fn main() {}
