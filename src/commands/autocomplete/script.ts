import {autocompleteCommand} from '../../autocomplete.js'

export default await autocompleteCommand('script')
