//! Issue 10 hardening: see the module's tests.

use tplab_testkit::Suite;

pub fn register(suite: Suite) -> Suite {
    suite
}
