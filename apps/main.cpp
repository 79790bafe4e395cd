// The `mixup` command line (placeholder entry until the train command lands).
#include <cstdio>
int main() { std::puts("mixup"); return 0; }
