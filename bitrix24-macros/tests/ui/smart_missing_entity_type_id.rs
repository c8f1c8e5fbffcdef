#[derive(bitrix24::SmartProcessItem)]
struct Project {
    id: Option<u64>,
    title: Option<String>,
}

fn main() {}
