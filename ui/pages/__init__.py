"""The workbench's pages, one router per area."""
