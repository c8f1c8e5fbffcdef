//! The field metadata `crm.<entity>.fields` answers for the legacy CRM families: for every
//! documented field its type, title and flags, as in the example answers of the docs' pages
//! (`crm/deals/crm-deal-fields.md`, `crm/leads/crm-lead-fields.md`,
//! `crm/contacts/crm-contact-fields.md`, `crm/companies/crm-company-fields.md`).
//!
//! Flags: `Q` required (`q`: a contact's three names, each listed as required), `R` read-only,
//! `I` immutable, `M` multiple, `D` deprecated. They describe the field only: what a write
//! demands or ignores stays with the overlay's rules.

use crate::entity::{Described, FieldSpec, FieldType};
use serde_json::json;

/// The documented metadata of one field.
pub(crate) struct Meta {
    /// UPPER field name.
    pub name: &'static str,
    /// The `type` `*.fields` answers (`user`, `crm_company`, `crm_status`, ...).
    pub ty: &'static str,
    /// The human `title`.
    pub title: &'static str,
    /// The flags (see the module doc).
    pub flags: &'static str,
    /// `settings.parentEntityTypeId` of a link to another CRM object, 0 when none.
    pub parent: u32,
    /// The `statusType` of a `crm_status` field, `""` for other types.
    pub status: &'static str,
}

impl Meta {
    /// Whether the flags hold `c`.
    fn has(&self, c: char) -> bool {
        self.flags.contains(c)
    }

    /// Gives a family field its documented title, `statusType` and description.
    pub(crate) fn apply(&self, f: &mut FieldSpec) {
        self.title.clone_into(&mut f.title);
        if !self.status.is_empty() {
            f.status_type = Some(self.status.to_string());
        }
        f.described = Some(Described {
            ty: self.ty.to_string(),
            required: self.has('Q') || self.has('q'),
            read_only: self.has('R'),
            immutable: self.has('I'),
            multiple: self.has('M'),
            deprecated: self.has('D'),
            settings: (self.parent != 0).then(|| json!({"parentEntityTypeId": self.parent})),
        });
    }

    /// A documented field the spec's entity lacks, stored by its documented type.
    pub(crate) fn new_field(&self) -> FieldSpec {
        let ty = match self.ty {
            "integer" | "user" | "crm_company" | "crm_contact" | "crm_lead" | "crm_quote"
            | "crm_category" => FieldType::Int,
            "double" => FieldType::Float,
            "char" => FieldType::Char,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "crm_multifield" | "file" => FieldType::Json,
            _ => FieldType::String,
        };
        let f = FieldSpec::new(self.name, ty);
        if self.ty == "crm_multifield" {
            f.multi()
        } else {
            f
        }
    }
}

const fn m(name: &'static str, ty: &'static str, title: &'static str, flags: &'static str) -> Meta {
    Meta {
        name,
        ty,
        title,
        flags,
        parent: 0,
        status: "",
    }
}

/// A link to a parent CRM object of type `parent` (`settings.parentEntityTypeId`).
const fn linked(
    name: &'static str,
    ty: &'static str,
    title: &'static str,
    flags: &'static str,
    parent: u32,
) -> Meta {
    Meta {
        name,
        ty,
        title,
        flags,
        parent,
        status: "",
    }
}

/// A `crm_status` field whose values are the `crm.status` items of `status`.
const fn status(
    name: &'static str,
    status: &'static str,
    title: &'static str,
    flags: &'static str,
) -> Meta {
    Meta {
        name,
        ty: "crm_status",
        title,
        flags,
        parent: 0,
        status,
    }
}

/// Fields of every family.
const COMMON: &[Meta] = &[
    m("ID", "integer", "ID", "R"),
    m("CREATED_BY_ID", "user", "Created By", "R"),
    m("MODIFY_BY_ID", "user", "Modified By", "R"),
    m("DATE_CREATE", "datetime", "Creation Date", "R"),
    m("DATE_MODIFY", "datetime", "Modification Date", "R"),
    m("ORIGINATOR_ID", "string", "External Source", ""),
    m("ORIGIN_ID", "string", "Identifier in External Source", ""),
    m("UTM_SOURCE", "string", "Advertising System", ""),
    m("UTM_MEDIUM", "string", "Traffic Type", ""),
    m("UTM_CAMPAIGN", "string", "Campaign Identifier", ""),
    m("UTM_CONTENT", "string", "Campaign Content", ""),
];

/// Fields of leads, contacts and companies: the address parts.
const ADDRESS: &[Meta] = &[
    m("ADDRESS_CITY", "string", "City", ""),
    m("ADDRESS_POSTAL_CODE", "string", "Postal Code", ""),
    m("ADDRESS_REGION", "string", "Region", ""),
    m("ADDRESS_PROVINCE", "string", "Province", ""),
    m("ADDRESS_COUNTRY", "string", "Country", ""),
    m("ADDRESS_COUNTRY_CODE", "string", "Country Code", ""),
    m("ADDRESS_LOC_ADDR_ID", "integer", "Location Address ID", ""),
];

/// Fields of leads, contacts and companies: the multi-fields.
const MULTIFIELDS: &[Meta] = &[
    m("PHONE", "crm_multifield", "Phone", "M"),
    m("EMAIL", "crm_multifield", "E-mail", "M"),
    m("WEB", "crm_multifield", "Website", "M"),
    m("IM", "crm_multifield", "Messenger", "M"),
    m("LINK", "crm_multifield", "LINK", "M"),
];

/// Fields of deals and leads: the amount, the client and the last moves.
const SALE: &[Meta] = &[
    m("OPPORTUNITY", "double", "Amount", ""),
    m("IS_MANUAL_OPPORTUNITY", "char", "IS_MANUAL_OPPORTUNITY", ""),
    linked("COMPANY_ID", "crm_company", "Company", "", 4),
    m("CONTACT_ID", "crm_contact", "Contact", "D"),
    m("MOVED_BY_ID", "user", "MOVED_BY_ID", "R"),
    m("MOVED_TIME", "datetime", "MOVED_TIME", "R"),
    m("LAST_ACTIVITY_TIME", "datetime", "LAST_ACTIVITY_TIME", "R"),
    m("LAST_ACTIVITY_BY", "user", "LAST_ACTIVITY_BY", "R"),
];

/// Fields of leads and contacts: the person.
const PERSON: &[Meta] = &[
    status("HONORIFIC", "HONORIFIC", "Salutation", ""),
    m("BIRTHDATE", "date", "Birthdate", ""),
    m("POST", "string", "Position", ""),
    m("ADDRESS", "string", "Address", ""),
    m("ADDRESS_2", "string", "Address (Line 2)", ""),
];

/// Fields of contacts and companies: the contact flags and owner.
const CLIENT: &[Meta] = &[
    m("HAS_PHONE", "char", "Phone Set", "R"),
    m("HAS_EMAIL", "char", "E-mail Set", "R"),
    m("HAS_IMOL", "char", "Open Line Set", "R"),
    m("ASSIGNED_BY_ID", "user", "Responsible Person", ""),
    m("ORIGIN_VERSION", "string", "Original Version", ""),
];

/// The fields only `crm.deal.fields` lists.
const DEAL_OWN: &[Meta] = &[
    m("TITLE", "string", "Title", ""),
    status("TYPE_ID", "DEAL_TYPE", "Type", ""),
    m("CATEGORY_ID", "crm_category", "Sales Funnel", "I"),
    status("STAGE_ID", "DEAL_STAGE", "Deal Stage", ""),
    m("STAGE_SEMANTIC_ID", "string", "Stage Group", "R"),
    m("IS_NEW", "char", "New Deal", "R"),
    m("IS_RECURRING", "char", "Recurring Deal", ""),
    m("IS_RETURN_CUSTOMER", "char", "Repeat Deal", ""),
    m("IS_REPEATED_APPROACH", "char", "Repeated Approach", ""),
    m("PROBABILITY", "integer", "Probability", ""),
    m("CURRENCY_ID", "crm_currency", "Currency", ""),
    m("TAX_VALUE", "double", "Tax Rate", ""),
    m("CONTACT_IDS", "crm_contact", "Contacts", "M"),
    linked("QUOTE_ID", "crm_quote", "Estimate", "R", 7),
    m("BEGINDATE", "date", "Start Date", ""),
    m("CLOSEDATE", "date", "Close Date", ""),
    m("OPENED", "char", "Available to All", ""),
    m("CLOSED", "char", "Closed", ""),
    m("COMMENTS", "string", "Comment", ""),
    m("ASSIGNED_BY_ID", "user", "Responsible", ""),
    status("SOURCE_ID", "SOURCE", "Source", ""),
    m(
        "SOURCE_DESCRIPTION",
        "string",
        "Additional Info about Source",
        "",
    ),
    linked("LEAD_ID", "crm_lead", "Lead", "R", 1),
    m("ADDITIONAL_INFO", "string", "Additional Information", ""),
    m("LOCATION_ID", "location", "Location", ""),
    m("UTM_TERM", "string", "Campaign Search Condition", ""),
];

/// `crm.deal.fields`.
pub(crate) const DEAL: &[&[Meta]] = &[COMMON, SALE, DEAL_OWN];

/// The fields only `crm.lead.fields` lists.
const LEAD_OWN: &[Meta] = &[
    m("TITLE", "string", "Lead Title", ""),
    m("NAME", "string", "First Name", ""),
    m("SECOND_NAME", "string", "Middle Name", ""),
    m("LAST_NAME", "string", "Last Name", ""),
    m("COMPANY_TITLE", "string", "Company Name", ""),
    status("SOURCE_ID", "SOURCE", "Source", ""),
    m("SOURCE_DESCRIPTION", "string", "Source Description", ""),
    status("STATUS_ID", "STATUS", "Stage", ""),
    m("STATUS_DESCRIPTION", "string", "Stage Description", ""),
    m("STATUS_SEMANTIC_ID", "string", "Status Semantic", "R"),
    m("CURRENCY_ID", "crm_currency", "Currency", ""),
    m("OPENED", "char", "Available to All", ""),
    m("COMMENTS", "string", "Comments", ""),
    m("HAS_PHONE", "char", "Phone Provided", "R"),
    m("HAS_EMAIL", "char", "Email Provided", "R"),
    m("HAS_IMOL", "char", "Open Line Assigned", "R"),
    m("ASSIGNED_BY_ID", "user", "Responsible User", ""),
    m("CONTACT_IDS", "crm_contact", "CONTACT_IDS", "M"),
    m("IS_RETURN_CUSTOMER", "char", "Returning Lead", "R"),
    m("DATE_CLOSED", "datetime", "Closing Date", "R"),
    m("UTM_TERM", "string", "Campaign Search Term", ""),
];

/// `crm.lead.fields`.
pub(crate) const LEAD: &[&[Meta]] = &[COMMON, ADDRESS, MULTIFIELDS, SALE, PERSON, LEAD_OWN];

/// The fields only `crm.contact.fields` lists.
const CONTACT_OWN: &[Meta] = &[
    m("NAME", "string", "First Name", "q"),
    m("SECOND_NAME", "string", "Middle Name", "q"),
    m("LAST_NAME", "string", "Last Name", "q"),
    m("PHOTO", "file", "Photo", ""),
    status("TYPE_ID", "CONTACT_TYPE", "Contact Type", ""),
    status("SOURCE_ID", "SOURCE", "Source", ""),
    m(
        "SOURCE_DESCRIPTION",
        "string",
        "Additional Source Information",
        "",
    ),
    m("COMMENTS", "string", "Comment", ""),
    m("OPENED", "char", "Available to All", ""),
    m("EXPORT", "char", "Participates in Contact Export", ""),
    m("COMPANY_ID", "crm_company", "Company", "D"),
    m("COMPANY_IDS", "crm_company", "COMPANY_IDS", "M"),
    linked("LEAD_ID", "crm_lead", "Lead", "R", 1),
    m("UTM_TERM", "string", "Campaign Search Condition", ""),
    m("LAST_ACTIVITY_TIME", "datetime", "Last Activity", "R"),
    m("LAST_ACTIVITY_BY", "user", "Last Activity By", "R"),
];

/// `crm.contact.fields`.
pub(crate) const CONTACT: &[&[Meta]] = &[COMMON, ADDRESS, MULTIFIELDS, PERSON, CLIENT, CONTACT_OWN];

/// The fields only `crm.company.fields` lists.
const COMPANY_OWN: &[Meta] = &[
    m("TITLE", "string", "Company Name", "Q"),
    status("COMPANY_TYPE", "COMPANY_TYPE", "Company Type", ""),
    m("LOGO", "file", "Logo", ""),
    m("ADDRESS", "string", "Physical Address", ""),
    m("ADDRESS_2", "string", "Address (line 2)", ""),
    m("ADDRESS_LEGAL", "string", "Legal Address", ""),
    m("REG_ADDRESS", "string", "Legal Address", ""),
    m("REG_ADDRESS_2", "string", "Legal Address (line 2)", ""),
    m("REG_ADDRESS_CITY", "string", "Legal Address City", ""),
    m(
        "REG_ADDRESS_POSTAL_CODE",
        "string",
        "Legal Address Postal Code",
        "",
    ),
    m("REG_ADDRESS_REGION", "string", "Legal Address Region", ""),
    m(
        "REG_ADDRESS_PROVINCE",
        "string",
        "Legal Address Province",
        "",
    ),
    m("REG_ADDRESS_COUNTRY", "string", "Legal Address Country", ""),
    m(
        "REG_ADDRESS_COUNTRY_CODE",
        "string",
        "Legal Address Country Code",
        "",
    ),
    m(
        "REG_ADDRESS_LOC_ADDR_ID",
        "integer",
        "Legal Address Location ID",
        "",
    ),
    m("BANKING_DETAILS", "string", "Banking Details", ""),
    status("INDUSTRY", "INDUSTRY", "Industry", ""),
    status("EMPLOYEES", "EMPLOYEES", "Number of Employees", ""),
    m("CURRENCY_ID", "crm_currency", "Currency", ""),
    m("REVENUE", "double", "Annual Revenue", ""),
    m("OPENED", "char", "Available to Everyone", ""),
    m("COMMENTS", "string", "Comment", ""),
    m("IS_MY_COMPANY", "char", "My Company", ""),
    m("CONTACT_ID", "crm_contact", "Contact", "M"),
    linked("LEAD_ID", "crm_lead", "Lead", "R", 1),
    m("UTM_TERM", "string", "Campaign Search Term", ""),
    m("LAST_ACTIVITY_TIME", "datetime", "Last Activity Time", ""),
    m("LAST_ACTIVITY_BY", "user", "Last Activity Author", ""),
    m(
        "LAST_COMMUNICATION_TIME",
        "string",
        "Last Communication Date",
        "R",
    ),
];

/// `crm.company.fields`.
pub(crate) const COMPANY: &[&[Meta]] = &[COMMON, ADDRESS, MULTIFIELDS, CLIENT, COMPANY_OWN];
