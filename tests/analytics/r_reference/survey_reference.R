# Reference numbers for tests/analytics/test_survey_estimate.py, from R's survey package 4.5.
# They were made with Debian's R 4.2.2 (apt-get install r-base-core r-cran-survey, which brings
# the dependencies) and survey 4.5 built from its CRAN source (github cran/survey, commit
# 4834b8b "version 4.5") with R CMD INSTALL -l /tmp/Rlib. R is not needed to run the tests.
#
#   python tests/analytics/r_reference/survey_data.py /tmp/survey_csv
#   R_LIBS=/tmp/Rlib Rscript tests/analytics/r_reference/survey_reference.R /tmp/survey_csv \
#       > tests/analytics/r_reference/survey_reference.json
#
# Every case is svydesign(..., nest = TRUE) with svymean / svytotal (na.rm = TRUE,
# deff = TRUE), confint(), svyciprop(method = "logit") and svyby; a domain's degrees of freedom
# are degf() of the design subset to the domain, as svyby gives svyciprop.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
stopifnot(packageVersion("survey") >= "4.5")

dir <- commandArgs(trailingOnly = TRUE)[1]
read <- function(name) {
  read.csv(file.path(dir, paste0(name, ".csv")), stringsAsFactors = FALSE,
           na.strings = "")
}

finite <- function(x) if (length(x) == 1 && is.finite(x)) unname(as.numeric(x)) else NULL
interval <- function(x) {
  x <- unname(as.vector(x))
  if (all(is.finite(x))) x else NULL
}

level_stats <- function(design, variable, proportion, df) {
  f <- as.formula(paste0("~", variable))
  m <- svymean(f, design, na.rm = TRUE, deff = TRUE)
  t <- svytotal(f, design, na.rm = TRUE, deff = TRUE)
  total <- list(estimate = finite(coef(t)), se = finite(SE(t)), ci95 = interval(confint(t)),
                ci95_t = interval(confint(t, df = df)), deff = finite(deff(t)))
  if (proportion) {
    p <- svyciprop(f, design, method = "logit", df = df, na.rm = TRUE)
    first <- list(proportion = list(
      estimate = finite(coef(p)), se = finite(SE(p)), ci95 = interval(confint(p)),
      ci95_wald = interval(confint(m)), deff = finite(deff(m))))
  } else {
    first <- list(mean = list(
      estimate = finite(coef(m)), se = finite(SE(m)), ci95 = interval(confint(m)),
      ci95_t = interval(confint(m, df = df)), deff = finite(deff(m))))
  }
  used <- !is.na(design$variables[[variable]]) & weights(design) != 0
  c(list(n = sum(used), sum_weights = sum(weights(design)[used]), degf = df),
    first, list(total = total))
}

# svyby's own numbers for the domains, to show that subsetting the design is what it does.
check_svyby <- function(design, variable, by, proportion, domains) {
  f <- as.formula(paste0("~", variable))
  b <- as.formula(paste0("~", by))
  means <- svyby(f, b, design, svymean, na.rm = TRUE, deff = TRUE)
  totals <- svyby(f, b, design, svytotal, na.rm = TRUE, deff = TRUE)
  key <- if (proportion) "proportion" else "mean"
  for (i in seq_along(domains)) {
    d <- domains[[i]]
    stopifnot(isTRUE(all.equal(coef(means)[[i]], d[[key]]$estimate, tolerance = 1e-7)),
              isTRUE(all.equal(SE(means)[[i]], d[[key]]$se, tolerance = 1e-12)),
              isTRUE(all.equal(coef(totals)[[i]], d$total$estimate, tolerance = 1e-12)),
              isTRUE(all.equal(SE(totals)[[i]], d$total$se, tolerance = 1e-12)))
  }
  if (proportion) {
    cis <- svyby(f, b, design, svyciprop, vartype = c("se", "ci"), method = "logit",
                  na.rm = TRUE)
    for (i in seq_along(domains)) {
      stopifnot(isTRUE(all.equal(c(cis$ci_l[i], cis$ci_u[i]), domains[[i]]$proportion$ci95,
                                 tolerance = 1e-12)))
    }
  }
}

estimate <- function(design, variable, by = NULL, proportion = FALSE) {
  result <- c(list(n_rows = nrow(design$variables)),
              level_stats(design, variable, proportion, degf(design)))
  if (!is.null(by)) {
    labels <- design$variables[[by]]
    levels <- sort(unique(labels[!is.na(labels)]))
    domains <- lapply(levels, function(level) {
      sub <- design[!is.na(labels) & labels == level, ]
      c(list(level = level), level_stats(sub, variable, proportion, degf(sub)))
    })
    check_svyby(design, variable, by, proportion, domains)
    result$domains <- domains
  }
  result
}

srs <- read("srs")
stratified <- read("stratified")
cluster <- read("cluster")
lonely <- read("lonely")

cluster_design <- function(data, fpc = NULL, weights = ~w) {
  svydesign(ids = ~psu, strata = ~stratum, weights = weights, fpc = fpc, data = data,
            nest = TRUE)
}

cases <- list()
options(survey.lonely.psu = "fail")
cases$srs <- estimate(suppressWarnings(svydesign(ids = ~1, data = srs)), "y")
cases$srs_fpc <- estimate(svydesign(ids = ~1, fpc = ~N, data = srs), "y")
cases$srs_proportion <- estimate(svydesign(ids = ~1, fpc = ~N, data = srs), "y01",
                                 proportion = TRUE)
cases$stratified_fpc <- estimate(svydesign(ids = ~1, strata = ~stratum, fpc = ~N,
                                           data = stratified), "y")
cases$stratified_fraction <- estimate(svydesign(ids = ~1, strata = ~stratum, fpc = ~f,
                                                data = stratified), "y")
cases$cluster <- estimate(cluster_design(cluster), "y")
cases$cluster_fpc <- estimate(cluster_design(cluster, fpc = ~N), "y")
cases$cluster_weights_from_fpc <- estimate(cluster_design(cluster, fpc = ~N, weights = NULL),
                                           "y")
cases$cluster_domains <- estimate(cluster_design(cluster), "y", by = "dom")
cases$cluster_fpc_domains <- estimate(cluster_design(cluster, fpc = ~N), "y", by = "dom")
cases$cluster_domain_proportion <- estimate(cluster_design(cluster), "y01", by = "dom",
                                            proportion = TRUE)
cases$missing <- estimate(cluster_design(cluster), "y_na", by = "dom_na")
cases$missing_proportion <- estimate(cluster_design(cluster), "y01_na", by = "dom",
                                     proportion = TRUE)
for (method in c("adjust", "remove", "certainty", "average")) {
  options(survey.lonely.psu = method)
  cases[[paste0("lonely_", method)]] <- estimate(cluster_design(lonely), "y", by = "dom")
}
options(survey.lonely.psu = "adjust")
cases$lonely_adjust_proportion <- estimate(cluster_design(lonely, fpc = ~N), "y01",
                                           by = "dom", proportion = TRUE)
options(survey.lonely.psu = "fail")
lonely_error <- tryCatch(svymean(~y, cluster_design(lonely)), error = conditionMessage)

cat(toJSON(list(R = R.version.string, survey = as.character(packageVersion("survey")),
                lonely_fail_error = lonely_error, cases = cases),
           auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "\n")
