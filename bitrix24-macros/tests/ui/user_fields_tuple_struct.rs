#[derive(bitrix24::UserFields)]
struct DealExtras(Option<String>);

fn main() {}
