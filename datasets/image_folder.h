// Image-folder datasets in torchvision's ImageFolder layout (D/train/<class>/*, D/val/<class>/*, JPEG or
// PNG of any size, grey or colour): the scan, stb_image decoding, the transforms (torchvision's
// RandomResizedCrop for training; shorter side to size*256/224 and a centre crop for evaluation), the
// whole folder decoded into an in-memory Dataset, and the export of an in-memory dataset to folders.
// Every error is one line naming the path at fault.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "datasets/datasets.h"
#include "engine/random.h"

namespace mx::data {

// A decoded image, interleaved: `height` rows of `width` pixels of `channels` bytes (HWC).
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

struct FolderOptions {
  int image_size = 0;   // 0: the training images' own size when all are square and of one size, else 224
  int workers = 0;      // decoding threads; 0: one per core
  bool strict = false;  // an undecodable image stops the load instead of being skipped with a warning
  std::function<void(const std::string&)> warn;  // one line per skipped image, on the calling thread
};

struct FolderSplit {
  std::vector<std::string> files;  // by class, then by path
  std::vector<int32_t> labels;     // index into ImageFolder::classes
  int64_t size() const { return static_cast<int64_t>(files.size()); }
};

// A scanned folder: sorted class names, each split's images, what was left out, and the channels and
// image size that every image is brought to.
struct ImageFolder {
  std::string dir;
  std::vector<std::string> classes;
  FolderSplit train, val;
  int channels = 0;    // 3 when any training image is colour, else 1 (an alpha channel is dropped)
  int image_size = 0;  // FolderOptions::image_size resolved
  int64_t non_images = 0, undecodable = 0;
  // "D: 10 classes, 60000 train and 10000 val images, 1-channel 28x28; 2 non-image files skipped"
  std::string summary() const;
};

// Scans D/train and D/val (extensions .jpg, .jpeg, .png in any case are images; other files are counted
// and skipped) and reads every image's header on the workers; undecodable headers are warned about and
// skipped, or stop the scan with `strict`. Throws naming the path for a missing train/ or val/, an
// empty class folder, a val/ class absent from train/, or a split without images.
ImageFolder scan_image_folder(const std::string& dir, const FolderOptions& opt);

// The whole folder decoded on the workers, each image brought to image_size by eval_transform:
// U8 [N, C, S, S] per split, in the folder's order. An image that fails to decode is handled as in
// the scan (skipped with a warning, or an error with `strict`).
Split load_image_folder(const ImageFolder& folder, const FolderOptions& opt);
// One split (or part of one, see spaced_subset) decoded the same way.
Dataset load_folder_split(const ImageFolder& folder, const FolderSplit& split, const FolderOptions& opt);
// `count` files spread evenly through the split (all of them when count <= 0 or beyond its size), so
// that every class keeps its share: the --train-limit / --test-limit of a folder, a normalization sample.
FolderSplit spaced_subset(const FolderSplit& split, int64_t count);

// The image files under `dir` (extensions .jpg, .jpeg, .png in any case; subfolders included), sorted
// by path; other files are counted in `non_images`.
std::vector<std::string> list_images(const std::string& dir, int64_t& non_images);

// A readable image header; `index` is the file's position in the list given to probe_images.
struct ImageHeader {
  int width = 0, height = 0, channels = 0;
  size_t index = 0;
};
// Reads the headers of `files` on opt.workers threads; those stb_image cannot read are warned about
// (opt.warn) and counted in `undecodable`, or stop everything with opt.strict. Returns the readable
// headers, in file order.
std::vector<ImageHeader> probe_images(const std::vector<std::string>& files, const FolderOptions& opt,
                                      int64_t& undecodable);

// The most pixels (width x height) an image may announce in its header, and the most its longer side
// may exceed its shorter one by (the evaluation resize brings the shorter side to the image size, so a
// needle-thin image would become a vast one); other images are refused before they are decoded (in the
// scan they count as undecodable), as are those whose header announces more pixels than the file can
// hold. 2^26: 8192 x 8192, far above ImageNet's.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;
constexpr int kMaxAspectRatio = 100;

// The file decoded to `channels` channels (1: grey by luma, 3: RGB); throws naming the path.
Image decode_image(const std::string& path, int channels);
// decode_image on the file's bytes in memory (what decode_image calls; the fuzz target too): the header
// is read first (stbi_info) and its dimensions checked against kMaxImagePixels and kMaxAspectRatio.
Image decode_image_bytes(const std::string& bytes, int channels, const std::string& path);
// decode_image for the streaming loaders: a file that fails to decode throws with `strict` (the message
// names `flag`), else gives nullopt and a warning line in `lines`, and the caller uses a blank image.
std::optional<Image> decode_or_warn(const std::string& path, int channels, bool strict, const std::string& flag,
                                    std::vector<std::string>& lines);
// True for the extensions the folders read: .jpg, .jpeg, .png in any case.
bool is_image_file(const std::string& path);
// An HWC image into CHW planes at dst (channels x height x width bytes).
void put_planar(const Image& img, uint8_t* dst);

struct Box {
  int x = 0, y = 0, width = 0, height = 0;
};

// torchvision's RandomResizedCrop box for an image of width x height, drawn from `g`: up to 10 tries of
// area share in [0.08, 1] and log-uniform aspect ratio in [3/4, 4/3]; when none fits, the largest
// centred box whose ratio is inside the range.
Box random_resized_crop(int width, int height, random::SplitMix64& g);

// The box of src, copied; throws unless the box lies inside src.
Image crop(const Image& src, const Box& box);

// The box of src resized to out_width x out_height by a separable triangle filter: bilinear
// interpolation when enlarging, and when shrinking a filter widened by the factor, as Pillow's bilinear.
Image resize(const Image& src, const Box& box, int out_width, int out_height);

// Evaluation: the shorter side resized to round(size * 256 / 224), the longer in proportion
// (truncated, as torchvision's Resize), then the centred size x size crop (offsets rounded).
struct EvalGeometry {
  int resized_width = 0, resized_height = 0;
  Box crop;  // in the resized image
};
EvalGeometry eval_geometry(int width, int height, int size);
// src through eval_geometry; an image already size x size passes through untouched.
Image eval_transform(const Image& src, int size);

// An HWC image as CHW floats at `out`, each byte through table[channel * 256 + byte] (normalization_table),
// mirrored left-right when `flip` is set.
void normalize_planar(const Image& img, bool flip, const std::vector<float>& table, float* out);

// The standard ImageNet mean and std (for one channel: the means of the three).
Normalization imagenet_normalization(int channels);

// The folder name of class `label` among `classes`, sorting in label order: the label zero-padded,
// then the dataset's class name in lower case ("0-t-shirt", "07-7").
std::string class_folder_name(const std::string& dataset, int label, int classes);
// Writes `split` as PNG files DIR/train/<class>/<index>.png and DIR/val/<class>/<index>.png (index
// zero-padded, so the files sort in dataset order). Everything goes to DIR.tmp.<pid> first, which is
// renamed to DIR at the end; DIR must not exist. Returns the number of images written.
int64_t export_image_folder(const Split& split, const std::string& dataset, const std::string& dir);

// Image `index` of a U8 [N, C, H, W] dataset, interleaved.
Image dataset_image(const Dataset& d, int64_t index);
// `img` as a PNG file (stb_image_write); throws naming the path.
void write_png(const Image& img, const std::string& path);
// `img` as DIR/<index>.png, the index zero-padded to the digits of count - 1 so that the files sort in
// index order; DIR is created when missing.
void write_indexed_png(const Image& img, const std::string& dir, int64_t index, int64_t count);
// Writes a new folder DIR (--out): throws when DIR is empty or exists, calls fill(DIR.tmp.<pid>) and
// renames the temporary to DIR; when fill throws the temporary is removed, so DIR is never half-written.
void write_new_folder(const std::string& dir, const std::function<void(const std::string& tmp)>& fill);

}  // namespace mx::data
