fn main() {
    use tplab_report::fixture::*;
    let reports = vec![edge_report(1), other_lab_report(2), student_report(17)];
    std::fs::write("/tmp/exp/j.xml", tplab_report::junit_xml(&reports)).unwrap();
    std::fs::write("/tmp/exp/jp.xml", tplab_report::junit_xml_with(&reports, tplab_report::JunitOptions{testcase_properties:true})).unwrap();
    std::fs::write("/tmp/exp/g.json", serde_json::to_string_pretty(&tplab_report::gradescope_json(&edge_report(1))).unwrap()).unwrap();
}
