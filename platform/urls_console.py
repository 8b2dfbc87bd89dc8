"""The card-centre console's URLs (namespace `console`), gathered from the apps that own the pages."""

from accounts.urls_console import urlpatterns as accounts_patterns
from campaigns.urls_console import urlpatterns as campaigns_patterns
from fulfillment.urls_console import urlpatterns as fulfilment_patterns
from h5_templates.urls_console import urlpatterns as h5_patterns
from reports.urls_console import urlpatterns as reports_patterns

app_name = "console"
urlpatterns = [*accounts_patterns, *campaigns_patterns, *h5_patterns, *fulfilment_patterns, *reports_patterns]
