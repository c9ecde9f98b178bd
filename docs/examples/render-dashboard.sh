pytest scenarios --cloud-platform sim:qa --cloud-platform qpu:qa --alluredir allure-results --clean-alluredir
rm -rf allure-report  # into a folder that holds a report, Allure 3 writes allure-report/awesome/ and keeps the old one
npx --yes allure@3 generate --config allure-results/allurerc.json allure-results -o allure-report
