// The stb implementations (image decoding, PNG/JPEG writing), compiled once for the engine;
// everything else includes the headers only. Only the JPEG and PNG decoders are built, the formats the
// folders read (is_image_file): stb_image's other decoders would only widen what a crafted file can
// reach. The writer has no stdio: callers encode to memory and write the bytes themselves (atomically
// where it matters).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image.h>
#include <stb_image_write.h>
