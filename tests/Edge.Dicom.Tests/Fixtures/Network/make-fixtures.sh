#!/bin/sh
# Regenerates the network test objects: 64 x 64 gradients in the bit depths and photometrics consoles send.
# Needs python3 and DCMTK (dump2dcm). Run from this folder; the .dcm files are committed, the .raw files are not kept.
set -eu
python3 - <<'PY'
for name, bits, maxval in (("sc8", 8, 255), ("cr12", 16, 4095), ("dx16", 16, 65535)):
    data = bytearray()
    for y in range(64):
        for x in range(64):
            v = ((y * 64 + x) * maxval) // (64 * 64 - 1)
            data += v.to_bytes(bits // 8, "little")
    open(name + ".raw", "wb").write(data)
PY
common() { # $1 sop class, $2 uid, $3 modality, $4 photometric, $5 allocated, $6 stored, $7 VR, $8 raw
cat <<DUMP
(0002,0010) UI =LittleEndianExplicit
(0008,0016) UI =$1
(0008,0018) UI [$2]
(0008,0060) CS [$3]
(0010,0010) PN [Synthetic^Network]
(0018,0015) CS [CHEST]
(0020,000d) UI [$2.1]
(0020,000e) UI [$2.2]
(0028,0002) US 1
(0028,0004) CS [$4]
(0028,0010) US 64
(0028,0011) US 64
(0028,0100) US $5
(0028,0101) US $6
(0028,0102) US $(($6 - 1))
(0028,0103) US 0
(7fe0,0010) $7 =$8
DUMP
}
common SecondaryCaptureImageStorage 2.25.1001 OT MONOCHROME2 8 8 OB sc8.raw > sc8.dump.txt
common ComputedRadiographyImageStorage 2.25.1002 CR MONOCHROME1 16 12 OW cr12.raw > cr12.dump.txt
common DigitalXRayImageStorageForPresentation 2.25.1003 DX MONOCHROME2 16 16 OW dx16.raw > dx16.dump.txt
dump2dcm -q +te sc8.dump.txt sc8_mono2_explicit.dcm
dump2dcm -q +ti cr12.dump.txt cr12_mono1_implicit.dcm
dump2dcm -q +te dx16.dump.txt dx16_mono2_explicit.dcm
rm -f sc8.raw cr12.raw dx16.raw sc8.dump.txt cr12.dump.txt dx16.dump.txt
