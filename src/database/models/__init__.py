"""All tables; importing this package registers them on ``Base.metadata``."""

from src.database.models.base import Base, utcnow
from src.database.models.corpus import KBArticle, Ticket
from src.database.models.flags import RuntimeFlag
from src.database.models.history import ACTIVE_STATUSES, EnhancementHistory, JobStatus
from src.database.models.inventory import Asset, Network
from src.database.models.itsm import ItsmTicket
from src.database.models.tenant import AuthScheme, TenantConfig

__all__ = [
    "ACTIVE_STATUSES",
    "Asset",
    "AuthScheme",
    "Base",
    "EnhancementHistory",
    "ItsmTicket",
    "JobStatus",
    "KBArticle",
    "Network",
    "RuntimeFlag",
    "TenantConfig",
    "Ticket",
    "utcnow",
]
