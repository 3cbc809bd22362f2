//! Validates report files against docs/report.schema.json and checks their hash chain:
//! `cargo run -p tplab-report --example validate -- report.json...`

fn main() -> anyhow::Result<()> {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/report.schema.json"))?;
    let validator = jsonschema::validator_for(&schema)?;
    let mut bad = 0;
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path)?;
        let value: serde_json::Value = serde_json::from_str(&text)?;
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("  schema: {} at {}", e, e.instance_path))
            .collect();
        let chain = match tplab_report::load::parse_report(path.as_ref(), text.as_bytes()) {
            Ok(l) => tplab_report::verify_report(&l.report).map_or_else(
                |e| format!("chain NOT verified: {e}"),
                |()| "chain verified".into(),
            ),
            Err(e) => format!("does not load: {e}"),
        };
        println!("{path}: {} schema error(s), {chain}", errors.len());
        for e in &errors {
            println!("{e}");
        }
        bad += usize::from(!errors.is_empty());
    }
    std::process::exit(i32::from(bad > 0));
}
