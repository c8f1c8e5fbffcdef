#[derive(serde::Serialize, bitrix24::Method)]
#[bitrix24(method = "crm.deal.get", risk = "read", response = serde_json::Value)]
struct DealGet {
    id: u64,
}

fn main() {}
