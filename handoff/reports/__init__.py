"""Reports for supervisors and operations: the service's figures over a period
(`figures`), the questions nobody has answered yet (`gaps`), the desk's reports page
(`pages`), the `faqbot report` command and Prometheus `/metrics`."""
