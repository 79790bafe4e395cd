// Datasets held in memory as uint8 images [N, C, H, W] and int32 labels [N]: Fashion-MNIST (IDX .gz),
// CIFAR-10 and CIFAR-100 (binary versions), image folders (image_folder.h; here with its defaults). Every load error names the file and what is wrong.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/tensor.h"

namespace mx::data {

struct Dataset {
  Tensor images;  // [N, C, H, W] U8, CPU
  Tensor labels;  // [N] I32, CPU, each in [0, num_classes)
  int num_classes = 0;
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int channels() const { return static_cast<int>(images.size(1)); }
  int height() const { return static_cast<int>(images.size(2)); }
  int width() const { return static_cast<int>(images.size(3)); }
};

struct Split {
  Dataset train, test;
};

std::vector<std::string> dataset_names();  // fashion-mnist, cifar10, cifar100, folder
std::string class_name(const std::string& dataset, int label);  // short name, or the number
std::string default_data_dir(const std::string& name);  // /usr/share/datasets/fashion-mnist for Fashion-MNIST
Split load_dataset(const std::string& name, const std::string& dir);  // throws on unknown name

Split load_fashion_mnist(const std::string& dir);  // train-images-idx3-ubyte.gz, ... t10k-labels-idx1-ubyte.gz
Split load_cifar10(const std::string& dir);        // data_batch_1..5.bin, test_batch.bin
Split load_cifar100(const std::string& dir);       // train.bin, test.bin (fine labels)

// The file formats parsed from a file's bytes in memory (the loaders above read the file and call them, and
// so do the fuzz targets of tests/fuzz); `path` names the file in every error.
// A gzip-compressed IDX file of Fashion-MNIST images (U8 [N, 1, 28, 28]) or labels (I32 [N], each below
// `classes`). The header is checked before anything is allocated: the payload it announces may be no
// more than the compressed bytes can inflate to (deflate packs at most 1032 bytes into one) nor than
// kMaxIdxBytes, and the data is inflated only up to that payload.
constexpr uint64_t kMaxIdxBytes = uint64_t{4} << 30;  // 4 GiB, 90 times Fashion-MNIST's training images
Tensor parse_idx_images(const std::string& gz, const std::string& path);
Tensor parse_idx_labels(const std::string& gz, int classes, const std::string& path);
// A CIFAR-10 or CIFAR-100 binary record file: its size must be a positive whole number of records.
Dataset parse_cifar10(const std::string& bytes, const std::string& path);
Dataset parse_cifar100(const std::string& bytes, const std::string& path);

// The first `limit` images (all of them when limit <= 0 or beyond the size), sharing storage.
Dataset head(const Dataset& d, int64_t limit);
// The images and labels at `indices`, in that order (a copy); throws naming an index out of range.
Dataset subset(const Dataset& d, const std::vector<int64_t>& indices);

// Per-channel mean and standard deviation of the images scaled to [0, 1].
struct Normalization {
  std::vector<float> mean, std;
};
Normalization compute_normalization(const Dataset& d);
// The normalization a model was trained with, as checkpoint metadata ("norm_mean", "norm_std":
// comma-separated floats) and back (datasets/normalization.cpp). get_normalization gives nullopt when
// the metadata has none, and throws naming `path` when it is malformed or not for `channels` channels.
void put_normalization(checkpoint::Metadata& meta, const Normalization& norm);
std::optional<Normalization> get_normalization(const checkpoint::Metadata& meta, const std::string& path,
                                               int channels);

}  // namespace mx::data
