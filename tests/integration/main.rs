fn main() {
    tplab_testkit::Suite::new().run()
}
