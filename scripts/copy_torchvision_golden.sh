#!/bin/sh
# Copies torchvision's golden model outputs (its test/expect files as JSON, with their licence)
# into Tests/Fixtures/torchvision-golden/. SRC is a folder holding
# ModelTester.test_{resnet18,resnet50,retinanet_resnet50_fpn,retinanet_resnet50_fpn_v2}_expect.json
# and LICENSE.torchvision (the JSON form of torchvision 0.14.1's .pkl files: "values" and "bits").
#
# Usage: scripts/copy_torchvision_golden.sh SRC
set -eu
src=${1:?usage: $0 SRC}
dst="$(dirname "$0")/../Tests/Fixtures/torchvision-golden"
mkdir -p "$dst"
for name in resnet18 resnet50 retinanet_resnet50_fpn retinanet_resnet50_fpn_v2; do
    cp "$src/ModelTester.test_${name}_expect.json" "$dst/"
done
cp "$src/LICENSE.torchvision" "$dst/"
