"""On-chain side of solmeter: the billing program (Rust source and committed build), its IDL, the
toolchain that builds it offline, and the Python code shared by the program's tests, the meter and the
auditor (receipt encoding, Merkle rules, PDA seeds, the program's generated client)."""
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROGRAM_SO = PACKAGE_DIR / "build" / "solmeter_billing.so"
IDL_PATH = PACKAGE_DIR / "idl" / "solmeter_billing.json"  # legacy Anchor IDL (anchorpy 0.21)
IDL_ANCHOR_PATH = PACKAGE_DIR / "idl" / "anchor" / "solmeter_billing.json"  # Anchor 0.30+ IDL (spec 0.1.0)

# The localnet/demo program id. Its keypair (keys/program-keypair.json) is committed on purpose: it is a
# development key for the embedded localnet and tests only. Operators deploying to devnet or mainnet use
# their own program keypair (`solmeter operator init --program-keypair`).
DEFAULT_PROGRAM_ID = "4yCvCumrTMguA31fHcDAUieoyUsAtQwMMgyp1LPCkCnq"
PROGRAM_KEYPAIR = PACKAGE_DIR / "keys" / "program-keypair.json"
# A deployment of this program (ledger/ops/deployment.py) is written by `solmeter operator init` into the data
# directory under this name; the settings (solmeter/config.py) and the role operations both find it there.
DEPLOYMENT_FILE = "deployment.json"
