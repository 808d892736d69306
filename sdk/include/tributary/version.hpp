// version.hpp: the SDK's own version, carried in every connector descriptor.
#pragma once

#define TRIBUTARY_SDK_VERSION "0.2.0"
