/* no_entry.c: a loadable module that exports no tributary_connector_entry. */

__attribute__((visibility("default"))) int tributary_test_not_a_connector(void) {
    return 42;
}
