//! PagerDuty REST and Events API v2 clients.
