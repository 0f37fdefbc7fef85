"""Imports every feature's tables so Alembic and the tests see the whole schema."""

from helpdesk.api import models as api_models  # noqa: F401
from helpdesk.auth import models as auth_models  # noqa: F401
from helpdesk.auth import two_factor_models  # noqa: F401
from helpdesk.campaigns import models as campaign_models  # noqa: F401
from helpdesk.customers import models as customer_models  # noqa: F401
from helpdesk.db import Base
from helpdesk.events import models as event_models  # noqa: F401
from helpdesk.faq import models as faq_models  # noqa: F401
from helpdesk.mail import models as mail_models  # noqa: F401
from helpdesk.notifications import models as notification_models  # noqa: F401
from helpdesk.reports import models as report_models  # noqa: F401
from helpdesk.saved_replies import models as saved_reply_models  # noqa: F401
from helpdesk.surveys import models as survey_models  # noqa: F401
from helpdesk.tickets import models as ticket_models  # noqa: F401
from helpdesk.webhooks import models as webhook_models  # noqa: F401

metadata = Base.metadata
