// admin_test_main.cpp: the module of the administration tests; the cases are in *_test.cpp.
#define BOOST_TEST_MODULE admin
#include <boost/test/unit_test.hpp>
