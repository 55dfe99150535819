//! Service categories: compute, storage, network or other, from what a row says.

use crate::schema::CostRow;

/// A row's service category (an index into [`CATEGORIES`]), from what the row says, most specific first: the
/// meter category (EA, MCA, legacy; `x_SkuMeterCategory` in FOCUS), then what was bought (EA `Product`, FOCUS
/// `ChargeDescription`: `Premium SSD Managed Disks - P6 LRS`, `Load Balancer - Standard Data Processed`), then FOCUS
/// `ServiceCategory` (Azure ML's own rows say `AI and Machine Learning`, which tells nothing), then the service name.
/// A disk bought under the service `Virtual Machines` is storage; `other` when nothing tells.
pub fn category(row: &CostRow) -> usize {
    by_name(row.meter_category)
        .or_else(|| by_description(row.product))
        .or_else(|| by_name(row.service_category))
        .or_else(|| by_name(row.service))
        .unwrap_or(3)
}

/// Lower-cased on the stack: no category name is longer than 48 bytes, so a longer one is not read.
fn lower(name: &str, buf: &mut [u8; 48]) -> Option<usize> {
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    Some(name.len())
}

/// The category a meter category, FOCUS service category or service name stands for.
fn by_name(name: &str) -> Option<usize> {
    let mut buf = [0u8; 48];
    let n = lower(name.trim(), &mut buf)?;
    match std::str::from_utf8(&buf[..n]).unwrap_or("") {
        "compute"
        | "virtual machines"
        | "virtual machine scale sets"
        | "container instances"
        | "azure kubernetes service"
        | "cloud services"
        | "batch"
        | "azure batch" => Some(0),
        "storage" | "storage accounts" | "managed disks" | "container registry" | "backup" | "azure netapp files" => {
            Some(1)
        }
        "networking"
        | "network"
        | "bandwidth"
        | "virtual network"
        | "load balancer"
        | "vpn gateway"
        | "network watcher"
        | "private link"
        | "azure dns"
        | "azure firewall"
        | "nat gateway"
        | "ip addresses"
        | "application gateway"
        | "expressroute"
        | "azure front door"
        | "content delivery network" => Some(2),
        _ => None,
    }
}

/// The category a product or charge description names in its first part (`Virtual Machines Dv2/DSv2 Series -
/// D11 v2/DS11 v2 - US East 2` -> compute).
fn by_description(text: &str) -> Option<usize> {
    let head = text.split(" - ").next().unwrap_or("").trim();
    if head.is_empty() {
        return None;
    }
    if let Some(c) = by_name(head) {
        return Some(c);
    }
    let mut buf = [0u8; 48];
    let mut end = head.len().min(48);
    while !head.is_char_boundary(end) {
        end -= 1;
    }
    let n = lower(&head[..end], &mut buf)?;
    let head = std::str::from_utf8(&buf[..n]).unwrap_or("");
    let starts = |words: &[&str]| words.iter().any(|w| head.starts_with(w));
    if starts(&["virtual machines", "dedicated host"]) {
        Some(0)
    } else if head.contains("managed disks") || starts(&["storage", "blob", "files ", "disk"]) {
        Some(1)
    } else if starts(&[
        "load balancer",
        "bandwidth",
        "ip addresses",
        "virtual network",
        "rtn preference",
        "nat gateway",
        "vpn gateway",
        "private link",
        "network watcher",
        "azure dns",
        "application gateway",
    ]) {
        Some(2)
    } else {
        None
    }
}
