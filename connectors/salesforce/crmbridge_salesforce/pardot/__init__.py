"""Account Engagement (Pardot) API v5 inside the Salesforce connector: visitor
activities as events, prospects' score and grade as ``pardot_score`` / ``pardot_grade``.
See docs/salesforce.md, "Account Engagement (Pardot)"."""
