//! A local Bitrix24 portal (work in progress).
