"""The table-network backend's artifacts: the cost model's count, the truth tables, the Verilog and its
synthesis, the RTL verification."""

from __future__ import annotations

from pathlib import Path

from hwcompress.stages.artifacts import Artifact, json_file
from hwcompress.tables.check import TablesCheck
from hwcompress.tables.cost import TableCost
from hwcompress.tables.rtl import RTL_FILE, RtlDesign
from hwcompress.tables.tables import TABLES_JSON, TABLES_NPZ, TableModel
from hwcompress.tables.verification import RtlVerification
from hwcompress.tables.yosys import Synthesis

# 00-preflight: the cost model's count of the untrained network
PREFLIGHT_COST = Artifact("preflight", "cost.json", json_file(TableCost.from_json))
# 04-export: the truth tables (a description and the arrays) and their check against the network
TABLES = Artifact("export", TABLES_JSON, lambda path: TableModel.load(path.parent))
TABLE_ARRAYS = Artifact("export", TABLES_NPZ, Path)
TABLES_CHECK = Artifact("export", "export.json", json_file(TablesCheck.from_json))
# 05-compile: the Verilog, what it holds, and Yosys's counts
RTL = Artifact("compile", RTL_FILE, Path)
RTL_DESIGN = Artifact("compile", "design.json", json_file(RtlDesign.from_json))
SYNTHESIS = Artifact("compile", "synthesis.json", json_file(Synthesis.from_json))
# 06-verify: the Verilog in Verilator against the tables
RTL_VERIFICATION = Artifact("verify", "verify.json", json_file(RtlVerification.from_json))
