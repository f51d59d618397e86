"""Data products: descriptor models, loading ``products/`` and ``schemas/``, ODCS/ODPS export
and ODCS import, checked against the standards' official JSON schemas.

A product is declared in ``products/<domain>/<name>.yaml`` (see :class:`Product`) and names its
value schema in ``schemas/<domain>/<Record>.avsc``. :func:`load_product` validates both and
reports every problem as :class:`~streams.errors.DescriptorError` with ``file:line`` and the fix.

Published products live in the compacted topic ``_mesh.products`` (:class:`CatalogStore`, one
:class:`CatalogEntry` per product version); :class:`Catalog` lists, searches and shows them, and
resolves product names for :class:`streams.kafka.Consumer`. A bare product name means its latest
active major version everywhere (:func:`choose_version`, :meth:`Catalog.pick`).
"""

from __future__ import annotations

from streams.catalog._contract import contract_rule_set, quality_specs
from streams.catalog._duration import INFINITE, format_duration, parse_duration, parse_retention
from streams.catalog._export import export_odcs, export_odps
from streams.catalog._import import ImportedContract, import_odcs
from streams.catalog._load import (
    LoadedProduct,
    Selection,
    find_root,
    load_path,
    load_product,
    load_products,
    problems_of,
    product_files,
    repository_root,
    select,
)
from streams.catalog._model import (
    CLASSIFICATIONS,
    AllowedValuesRule,
    Classification,
    Deprecation,
    Description,
    Duration,
    Guarantees,
    InputPort,
    Kind,
    NotNullRule,
    OutputPort,
    Owner,
    Product,
    QualityRule,
    RangeRule,
    Retention,
    Status,
    UniqueRule,
)
from streams.catalog._signatures import Rejected, Signatures
from streams.catalog._standards import ODCS_VERSION, ODPS_VERSION, problems, require_valid
from streams.catalog._version import choose_version, is_versioned
from streams.catalog._yaml import Location, SourceMap, descriptor_error, read_yaml, show_path
from streams.catalog.apply import ApplyResult, apply
from streams.catalog.discovery import Catalog, ProductView, SchemaField, VersionInfo
from streams.catalog.plan import Change, plan
from streams.catalog.store import PRODUCTS_TOPIC, CatalogEntry, CatalogStore, entry_key

__all__ = [
    "CLASSIFICATIONS",
    "INFINITE",
    "ODCS_VERSION",
    "ODPS_VERSION",
    "PRODUCTS_TOPIC",
    "AllowedValuesRule",
    "ApplyResult",
    "Catalog",
    "CatalogEntry",
    "CatalogStore",
    "Change",
    "Classification",
    "Deprecation",
    "Description",
    "Duration",
    "Guarantees",
    "ImportedContract",
    "InputPort",
    "Kind",
    "LoadedProduct",
    "Location",
    "NotNullRule",
    "OutputPort",
    "Owner",
    "Product",
    "ProductView",
    "QualityRule",
    "RangeRule",
    "Rejected",
    "Retention",
    "SchemaField",
    "Selection",
    "Signatures",
    "SourceMap",
    "Status",
    "UniqueRule",
    "VersionInfo",
    "apply",
    "choose_version",
    "contract_rule_set",
    "descriptor_error",
    "entry_key",
    "export_odcs",
    "export_odps",
    "find_root",
    "format_duration",
    "import_odcs",
    "is_versioned",
    "load_path",
    "load_product",
    "load_products",
    "parse_duration",
    "parse_retention",
    "plan",
    "problems",
    "problems_of",
    "product_files",
    "quality_specs",
    "read_yaml",
    "repository_root",
    "require_valid",
    "select",
    "show_path",
]
