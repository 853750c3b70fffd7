"""The admin API's HTML pages: the Licenses page and the holders partial it frames
(docs/licenses-page.md)."""
