#!/usr/bin/env bash
# Installs Debian's Fashion-MNIST package when its files are missing (the demo, experiments and some tests use it).
# Needs root (or sudo) and Debian's package index; prints what it does to stderr and never fails the caller.
dir=/usr/share/datasets/fashion-mnist
[ -f "$dir/train-images-idx3-ubyte.gz" ] && exit 0
echo "tbar: Fashion-MNIST not found in $dir; installing Debian package dataset-fashion-mnist" >&2
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo_cmd="sudo"
{ $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq dataset-fashion-mnist; } >&2 \
  || echo "tbar: could not install dataset-fashion-mnist; run 'apt-get install dataset-fashion-mnist'" >&2
exit 0
