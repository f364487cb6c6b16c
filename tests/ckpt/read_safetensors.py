"""Reads a Hearth checkpoint (safetensors) with numpy alone and prints its tensors and metadata."""
import json, struct, sys, zlib
import numpy as np

def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))  # little-endian u64 header length
        header, data = json.loads(f.read(n)), f.read()
    meta = header.pop("__metadata__", {})
    crc = meta.get("hearth.data_crc32")  # CRC-32 of the data section, in hex
    assert crc is None or int(crc, 16) == zlib.crc32(data), f"{path}: data checksum mismatch"
    dtypes = {"F32": "<f4", "I64": "<i8"}
    return {name: np.frombuffer(data[slice(*t["data_offsets"])], dtypes[t["dtype"]]).reshape(t["shape"])
            for name, t in header.items()}, meta
if __name__ == "__main__":
    tensors, meta = read_safetensors(sys.argv[1])
    for name, a in tensors.items():
        print("tensor", name, a.dtype, "x".join(map(str, a.shape)) or "scalar", *map(repr, a.ravel().tolist()))
    for key, value in sorted(meta.items()):
        print("meta", key, json.dumps(value))
