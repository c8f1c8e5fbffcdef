//! Hand-written v2 method handlers, one file per subsystem: system methods, users,
//! departments, `crm.item`/`crm.type`, CRM read-outs over other families (`crm_links`),
//! workgroups (`sonet`), chats (`im`), `disk`, universal lists (`lists`), product rows of CRM
//! objects (`product_rows`), inventory documents (`catalog_documents`), task time records
//! (`task_elapsed`), and the families the agent chains use, kept as plain rows in side tables
//! ([`side`]): delivery services, work time, AI engines, app storages, consents, signed HR
//! documents, the news feed, chat-bots, telephony, calendars, booking, business processes,
//! sites and scrum. Each file has a `ROUTES` table; `dispatch` runs them. Helpers they share
//! are in [`common`].

pub(crate) mod ai_engine;
pub(crate) mod app_entity;
pub(crate) mod bizproc;
pub(crate) mod blog;
pub(crate) mod booking;
pub(crate) mod calendar;
pub(crate) mod catalog_documents;
pub(crate) mod common;
pub(crate) mod crm;
pub(crate) mod crm_links;
pub(crate) mod departments;
pub(crate) mod disk;
pub(crate) mod im;
pub(crate) mod imbot;
pub(crate) mod landing;
pub(crate) mod lists;
pub(crate) mod product_rows;
pub(crate) mod sale_delivery;
pub(crate) mod scrum;
pub(crate) mod side;
pub(crate) mod sign_b2e;
pub(crate) mod sonet;
pub(crate) mod system;
pub(crate) mod task_elapsed;
pub(crate) mod telephony;
pub(crate) mod timeman;
pub(crate) mod userconsent;
pub(crate) mod userfieldconfig;
pub(crate) mod users;
