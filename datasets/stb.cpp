// The stb implementations (image decoding, PNG/JPEG writing), compiled once for the engine;
// everything else includes the headers only. The writer has no stdio: callers encode to memory and
// write the bytes themselves (atomically where it matters).
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image.h>
#include <stb_image_write.h>
