fn main() {
    tplab_sandbox::dispatch_if_daemon();
    tplab_testkit::Suite::new().run();
}
