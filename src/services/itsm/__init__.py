"""Outbound ITSM: open tickets in ServiceNow and Jira, track them against SLA targets.

Modules, by use case:

* ``types``       platform names and the typed results clients return
* ``validation``  field rules checked before any call (required, length, enum, pattern)
* ``templates``   ``config/itsm_config.json``: load, check at start-up, render ``{variable}``
* ``servicenow``  ServiceNow Table API client (``/api/now/table/incident``)
* ``jira``        Jira Cloud REST v3 client (``/rest/api/3/issue``, ADF descriptions)
* ``sla``         P1-P4 targets, state mapping and breach flags
* ``service``     create / create-from-template: toggles, validation, metrics, persistence
* ``sync``        read state back from both platforms and fill the SLA timestamps
"""
