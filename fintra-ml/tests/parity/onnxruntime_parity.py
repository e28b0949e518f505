"""Runs an exported fintra categoriser in onnxruntime on sparse fixture rows and compares its
probabilities with the ones fintra computed: `python3 onnxruntime_parity.py MODEL FIXTURE`.
FIXTURE is JSON: {"dim": D, "rows": [{"indices": [...], "values": [...], "expected": [...]}]}.
Prints the largest absolute difference; exits 1 above 1e-5, 2 when onnxruntime is missing."""
import json
import sys

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as error:
    print(f"onnxruntime is not installed ({error}): run scripts/test.sh -p fintra-ml", file=sys.stderr)
    sys.exit(2)

model_path, fixture_path = sys.argv[1], sys.argv[2]
fixture = json.load(open(fixture_path))
session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
dim = fixture["dim"]
rows = fixture["rows"]
batch = np.zeros((len(rows), dim), dtype=np.float32)
for r, row in enumerate(rows):
    batch[r, row["indices"]] = row["values"]
(probabilities,) = session.run(["probabilities"], {"features": batch})
expected = np.array([row["expected"] for row in rows], dtype=np.float32)
worst = float(np.abs(probabilities - expected).max())
print(f"onnxruntime {ort.__version__}: {len(rows)} rows, max |difference| {worst:.2e}")
sys.exit(0 if worst <= 1e-5 else 1)
