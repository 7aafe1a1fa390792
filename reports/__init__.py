"""Reports over the store that people look at: the data-quality (Analyse) report, as data, as
charts rendered on the server (SVG, offline) and as a self-contained HTML page.

A domain package: the weekly `quality-report` flow writes the page as a file, the workbench
(`ui/`) shows the same sections inside its layout, and the API returns the data as JSON.
"""
